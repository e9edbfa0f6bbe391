import Foundation
import Testing
import TriageCore
import TriageModel
@testable import TriageArtifact

/// Malicious or broken artifacts, committed under Fixtures/attacks/, each with the error it must
/// produce. Most are *signed with the trusted test key*, so they get past the signature and test
/// the strict decoding behind it. Regenerate with
/// `TRIAGE_WRITE_ATTACK_FIXTURES=1 swift test --filter AttackCorpus` (after a format change).
enum AttackCorpus {
    static let directory = ArtifactFixtures.directory.appendingPathComponent("attacks")

    /// An envelope around `payload`, signed with `key` (and claiming `keyId`, by default the key's).
    static func sign(_ payload: [UInt8], key: SigningKey, keyId: String? = nil) throws -> [UInt8] {
        let signature = try key.signature(for: payload)
        return JSONWriter.bytes([
            "format": "triage-model", "keyId": .string(keyId ?? key.verifyingKey.id),
            "payload": .string(Base64.encode(payload)), "signature": .string(Base64.encode(signature)),
        ])
    }

    /// The cases: file name → (bytes, the expected error's kind).
    static func generate() throws -> [(name: String, bytes: [UInt8], expected: String)] {
        let key = try ArtifactFixtures.signingKey
        let attacker = SigningKey()
        let (good, _) = try ArtifactFixtures.smallArtifact()
        let envelope = try #require(try JSONParser.parse(good).objectValue)
        let payload = try #require(Base64.decode(envelope["payload"]?.stringValue ?? ""))
        let text = String(decoding: payload, as: UTF8.self)
        func edit(_ transform: (String) -> String) throws -> [UInt8] { try sign(Array(transform(text).utf8), key: key) }
        func editValue(_ transform: (inout JSONObject) throws -> Void) throws -> [UInt8] {
            var object = try #require(try JSONParser.parse(payload).objectValue)
            try transform(&object)
            return try sign(JSONWriter.bytes(.object(object)), key: key)
        }
        var cases: [(String, [UInt8], String)] = []
        cases.append(("wrong-key", try sign(payload, key: attacker, keyId: key.verifyingKey.id), "badSignature"))
        cases.append(("unknown-key-id", try sign(payload, key: attacker), "unknownKeyId"))
        cases.append(("truncated", Array(good.prefix(good.count / 2)), "notAnArtifact"))
        cases.append(("not-json", Array("PK\u{3}\u{4} this is a zip file".utf8), "notAnArtifact"))
        cases.append(("extra-envelope-member", Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "{\"format\"", with: "{\"alg\":\"none\",\"format\"").utf8), "notAnArtifact"))
        // The key is checked before the base64 (as documented): an unknown signer's bytes are not
        // even decoded.
        let unknown = String(decoding: try sign(payload, key: attacker), as: UTF8.self)
        cases.append(("unknown-key-id-bad-base64", Array(unknown.replacingOccurrences(of: "\"payload\":\"", with: "\"payload\":\" ").utf8), "unknownKeyId"))
        cases.append(("non-canonical-base64", Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"payload\":\"", with: "\"payload\":\" ").utf8), "invalidBase64"))
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        cases.append(("deep-nesting", try edit { $0.replacingOccurrences(of: "\"notes\":{}", with: "\"notes\":{\"x\":\(deep)}") }, "payloadSyntax.tooDeep"))
        let version = "\"format_version\":\(ModelArtifact.formatVersion)"
        cases.append(("duplicate-key", try edit { $0.replacingOccurrences(of: version, with: version + "," + version) }, "payloadSyntax.duplicateKey"))
        cases.append(("infinite-number", try edit { $0.replacingOccurrences(of: "\"unsure_threshold\":0.5", with: "\"unsure_threshold\":1e999") }, "payloadSyntax.nonFiniteNumber"))
        cases.append(("nan", try edit { $0.replacingOccurrences(of: "\"unsure_threshold\":0.5", with: "\"unsure_threshold\":NaN") }, "payloadSyntax.invalidSyntax"))
        cases.append(("unknown-field", try editValue { $0["exec"] = "os.system('rm -rf /')" }, "payload.unknownField"))
        cases.append(("unknown-field-in-tree", try editValue { object in
            var model = try #require(object["model"]?.objectValue)
            var trees = try #require(model["trees"]?.arrayValue)
            var round = try #require(trees[0].arrayValue)
            var tree = try #require(round[0].objectValue)
            tree["callback"] = "__reduce__"
            round[0] = .object(tree)
            trees[0] = .array(round)
            model["trees"] = .array(trees)
            object["model"] = .object(model)
        }, "payload.unknownField"))
        cases.append(("bad-version", try editValue { $0["format_version"] = 99 }, "unsupportedVersion"))
        // A version-2 payload claiming version 1 (which has no `features`).
        cases.append(("features-in-version-1", try editValue { $0["format_version"] = 1 }, "invalid"))
        cases.append(("out-of-range-feature", try editValue { object in try setTree(&object) { $0["feature"] = [999_999, -1, -1] } }, "invalid"))
        cases.append(("cyclic-tree", try editValue { object in try setTree(&object) { $0["left"] = [0, -1, -1]; $0["right"] = [2, -1, -1] } }, "invalid"))
        cases.append(("child-out-of-range", try editValue { object in try setTree(&object) { $0["right"] = [77, -1, -1] } }, "invalid"))
        cases.append(("label-mismatch", try editValue { object in
            var model = try #require(object["model"]?.objectValue)
            var names = try #require(model["class_names"]?.arrayValue)
            names.swapAt(0, 1)
            model["class_names"] = .array(names)
            object["model"] = .object(model)
        }, "invalid"))
        cases.append(("wrong-type", try editValue { $0["labels"] = "card_loss_fraud" }, "payload.typeMismatch"))

        // A feature union with a logistic regression.
        let (linear, _) = try ArtifactFixtures.smallLinearArtifact()
        let linearEnvelope = try #require(try JSONParser.parse(linear).objectValue)
        let linearPayload = try #require(Base64.decode(linearEnvelope["payload"]?.stringValue ?? ""))
        func editLinear(_ transform: (inout JSONObject) throws -> Void) throws -> [UInt8] {
            var object = try #require(try JSONParser.parse(linearPayload).objectValue)
            try transform(&object)
            return try sign(JSONWriter.bytes(.object(object)), key: key)
        }
        func editLinearModel(_ transform: (inout JSONObject) throws -> Void) throws -> [UInt8] {
            try editLinear { object in
                var model = try #require(object["model"]?.objectValue)
                try transform(&model)
                object["model"] = .object(model)
            }
        }
        cases.append(("linear-weights-truncated", try editLinearModel { $0["coef"] = .string(Base64.encode([0, 0, 128, 63])) }, "payload.other"))
        cases.append(("linear-weight-nan", try editLinearModel { model in
            var bytes = try #require(Base64.decode(model["coef"]?.stringValue ?? ""))
            bytes[4 ..< 8] = [0x00, 0x00, 0xC0, 0x7F]
            model["coef"] = .string(Base64.encode(bytes))
        }, "payload.other"))
        cases.append(("linear-wrong-kind", try editLinearModel { $0["kind"] = "linear_svc" }, "invalid"))
        cases.append(("linear-feature-count", try editLinearModel { $0["feature_count"] = 3 }, "payload.other"))
        cases.append(("union-block-missing", try editLinear { object in
            var features = try #require(object["features"]?.arrayValue)
            features.removeLast()
            object["features"] = .array(features)
        }, "invalid"))
        cases.append(("union-block-renamed", try editLinear { object in
            var features = try #require(object["features"]?.arrayValue)
            var first = try #require(features[0].objectValue)
            first["name"] = "other"
            features[0] = .object(first)
            object["features"] = .array(features)
        }, "invalid"))
        return cases
    }

    /// Replaces the first tree of the first round (a depth-1 tree: 3 nodes) after `edit`.
    static func setTree(_ object: inout JSONObject, _ edit: (inout JSONObject) -> Void) throws {
        var model = try #require(object["model"]?.objectValue)
        var trees = try #require(model["trees"]?.arrayValue)
        var round = try #require(trees[0].arrayValue)
        var tree = try #require(round[0].objectValue)
        edit(&tree)
        round[0] = .object(tree)
        trees[0] = .array(round)
        model["trees"] = .array(trees)
        object["model"] = .object(model)
    }

    static func kind(_ error: ArtifactError) -> String {
        switch error {
        case .badSignature: return "badSignature"
        case .unknownKeyId: return "unknownKeyId"
        case .notAnArtifact: return "notAnArtifact"
        case .invalidBase64: return "invalidBase64"
        case let .payloadSyntax(e):
            switch e.kind {
            case .tooDeep: return "payloadSyntax.tooDeep"
            case .duplicateKey: return "payloadSyntax.duplicateKey"
            case .nonFiniteNumber: return "payloadSyntax.nonFiniteNumber"
            default: return "payloadSyntax.invalidSyntax"
            }
        case let .payload(e):
            switch e.kind {
            case .unknownField: return "payload.unknownField"
            case .typeMismatch: return "payload.typeMismatch"
            default: return "payload.other"
            }
        case .unsupportedVersion: return "unsupportedVersion"
        case .invalid: return "invalid"
        case .probeMismatch: return "probeMismatch"
        default: return "\(error)"
        }
    }
}

@Suite("Attack corpus (Fixtures/attacks)")
struct AttackCorpusTests {
    @Test func everyAttackIsRejectedWithItsSpecificError() throws {
        if ProcessInfo.processInfo.environment["TRIAGE_WRITE_ATTACK_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(at: AttackCorpus.directory, withIntermediateDirectories: true)
            var expected = JSONObject()
            for (name, bytes, kind) in try AttackCorpus.generate() {
                try Data(bytes).write(to: AttackCorpus.directory.appendingPathComponent(name + ".triage.json"))
                expected[name] = .string(kind)
            }
            try Data(JSONWriter.bytes(.object(expected), options: .init(sortedKeys: true, pretty: true)))
                .write(to: AttackCorpus.directory.appendingPathComponent("expected.json"))
        }
        let expected = try #require(try JSONParser.parse(Array(Data(contentsOf: AttackCorpus.directory.appendingPathComponent("expected.json")))).objectValue)
        #expect(expected.count >= 15)
        let trusted = [try ArtifactFixtures.signingKey.verifyingKey]
        for (name, kindValue) in expected.members {
            let path = AttackCorpus.directory.appendingPathComponent(name + ".triage.json").path
            do {
                _ = try ModelArtifact.load(path: path, trusted: trusted)
                Issue.record("\(name): accepted")
            } catch {
                #expect(AttackCorpus.kind(error) == kindValue.stringValue, "\(name): \(error)")
                #expect(!error.description.isEmpty)
            }
        }
    }
}
