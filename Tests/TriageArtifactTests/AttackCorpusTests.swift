import Foundation
import Testing
import TriageCore
import TriageModel
import TriageText
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

    /// Valid version-3 files beside the attacks (fuzz seeds: small enough for libFuzzer's -max_len).
    static let valid = ArtifactFixtures.directory.appendingPathComponent("valid")

    static func validFiles() throws -> [(name: String, bytes: [UInt8])] {
        [("linear-int8.triage", try ArtifactFixtures.smallLinearArtifact(weights: .int8, version: 3).bytes),
         ("linear-float16.triage", try ArtifactFixtures.smallLinearArtifact(weights: .float16, version: 3).bytes),
         ("trees.triage", try ArtifactFixtures.smallArtifact(version: 3).bytes),
         ("v4-linear-policy.triage", try ArtifactFixtures.smallLinearArtifact(weights: .int8, version: 4, withPolicy: true).bytes),
         ("v4-trees.triage", try ArtifactFixtures.smallArtifact(version: 4).bytes),
         ("v5-linear-clean.triage", try ArtifactFixtures.smallCleanArtifact().bytes),
         ("v6-linear-rules.triage", try ArtifactFixtures.smallRulesArtifact().bytes),
         ("v6-rules-only.triage", try ArtifactFixtures.smallRulesOnlyArtifact().bytes),
         ("v7-two-heads.triage", try ArtifactFixtures.smallHeadsArtifact().bytes)]
    }

    /// Version-3 to -7 cases are binary files (`.triage`), the older ones JSON envelopes (`.triage.json`).
    static func fileName(_ name: String) -> String {
        ["v3-", "v4-", "v5-", "v6-", "v7-"].contains { name.hasPrefix($0) } ? name + ".triage" : name + ".triage.json"
    }

    /// The cases: file name → (bytes, the expected error's kind).
    static func generate() throws -> [(name: String, bytes: [UInt8], expected: String)] {
        let key = try ArtifactFixtures.signingKey
        let attacker = SigningKey()
        let (good, _) = try ArtifactFixtures.smallArtifactVersion2()
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
        let version = "\"format_version\":2"
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
        cases.append(("matrices-in-version-2", try editValue { $0["matrices"] = [] }, "invalid"))

        // A feature union with a logistic regression.
        let (linear, _) = try ArtifactFixtures.smallLinearArtifactVersion2()
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
        return cases + (try version3()) + (try version4()) + (try version5()) + (try version6()) + (try version7())
    }

    /// Version-4 files: the confidence policy (`$.confidence_policy`) broken in each way a file
    /// could hold it wrong.
    static func version4() throws -> [(name: String, bytes: [UInt8], expected: String)] {
        let key = try ArtifactFixtures.signingKey
        let (good, _) = try ArtifactFixtures.smallLinearArtifact(weights: .int8, version: 4, withPolicy: true)
        let parts = try ModelFileParts(good)
        func editPolicy(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            var p = parts
            try p.editPayload { object in
                var policy = try #require(object["confidence_policy"]?.objectValue)
                try edit(&policy)
                object["confidence_policy"] = .object(policy)
            }
            return try p.signed(with: key)
        }
        func editPayload(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            var p = parts
            try p.editPayload(edit)
            return try p.signed(with: key)
        }
        var cases: [(String, [UInt8], String)] = []
        cases.append(("v4-policy-missing", try editPayload { $0["confidence_policy"] = nil }, "invalid"))
        cases.append(("v4-payload-version-3", try editPayload { $0["format_version"] = 3 }, "invalid"))
        cases.append(("v4-temperature-zero", try editPolicy { p in p["calibration"] = ["method": "temperature", "temperature": 0] }, "invalid"))
        cases.append(("v4-temperature-negative", try editPolicy { p in p["calibration"] = ["method": "temperature", "temperature": -1] }, "invalid"))
        cases.append(("v4-calibration-method", try editPolicy { p in p["calibration"] = ["method": "platt", "temperature": 1] }, "payload.other"))
        cases.append(("v4-threshold-above-one", try editPayload { object in
            var policy = object["confidence_policy"]?.objectValue ?? JSONObject()
            policy["threshold"] = 2
            object["confidence_policy"] = .object(policy)
            object["unsure_threshold"] = 2
        }, "invalid"))
        cases.append(("v4-threshold-disagrees", try editPayload { $0["unsure_threshold"] = JSONValue.double(0.9) ?? .null }, "invalid"))
        cases.append(("v4-margin-negative", try editPolicy { $0["margin"] = JSONValue.double(-0.1) ?? .null }, "invalid"))
        cases.append(("v4-oos-label-unknown", try editPolicy { $0["oos_label"] = "no such label" }, "invalid"))
        cases.append(("v4-goal-kind", try editPolicy { $0["goal"] = ["kind": "luck", "value": JSONValue.double(0.5) ?? .null] }, "payload.other"))
        cases.append(("v4-goal-value", try editPolicy { $0["goal"] = ["kind": "precision", "value": 7] }, "payload.other"))
        cases.append(("v4-class-threshold-label", try editPolicy { $0["class_thresholds"] = ["no such label": JSONValue.double(0.5) ?? .null] }, "invalid"))
        cases.append(("v4-class-threshold-value", try editPolicy { p in
            let label = try #require(p["class_thresholds"]?.objectValue?.keys.first)
            p["class_thresholds"] = .object(JSONObject([(label, JSONValue.double(1.5) ?? .null)]))
        }, "invalid"))
        cases.append(("v4-policy-extra-member", try editPolicy { $0["per_label"] = [:] }, "payload.unknownField"))
        // The calibration is in the probes: a different temperature no longer predicts them.
        cases.append(("v4-temperature-changed", try editPolicy { p in p["calibration"] = ["method": "temperature", "temperature": JSONValue.double(1.6) ?? .null] }, "probeMismatch"))
        return cases
    }

    /// Version-3 files (binary sections; named `v3-*.triage`), most signed with the trusted test
    /// key so that they test what comes after the signature: the header's section table, each
    /// section's digest and decoding, the matrices' shapes, scales and values.
    /// Version 5: the clean step's settings and patterns travel together, folded and sorted.
    static func version5() throws -> [(name: String, bytes: [UInt8], expected: String)] {
        let key = try ArtifactFixtures.signingKey
        let (good, _) = try ArtifactFixtures.smallCleanArtifact()
        let parts = try ModelFileParts(good)
        func editPayload(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            var p = parts
            try p.editPayload(edit)
            return try p.signed(with: key)
        }
        func editPatterns(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            try editPayload { object in
                var patterns = try #require(object["clean_patterns"]?.objectValue)
                try edit(&patterns)
                object["clean_patterns"] = .object(patterns)
            }
        }
        func editClean(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            try editPayload { object in
                var pipeline = try #require(object["pipeline"]?.objectValue)
                var clean = try #require(pipeline["clean"]?.objectValue)
                try edit(&clean)
                pipeline["clean"] = .object(clean)
                object["pipeline"] = .object(pipeline)
            }
        }
        var cases: [(String, [UInt8], String)] = []
        cases.append(("v5-patterns-missing", try editPayload { $0["clean_patterns"] = nil }, "invalid"))
        cases.append(("v5-patterns-without-clean", try editPayload { object in
            var pipeline = try #require(object["pipeline"]?.objectValue)
            pipeline["clean"] = nil
            object["pipeline"] = .object(pipeline)
        }, "invalid"))
        cases.append(("v5-payload-version-4", try editPayload { $0["format_version"] = 4 }, "invalid"))
        cases.append(("v5-pattern-not-folded", try editPatterns { $0["signoff"] = ["Best  Regards"] }, "payload.other"))
        cases.append(("v5-pattern-empty", try editPatterns { $0["mobile"] = [""] }, "payload.other"))
        cases.append(("v5-pattern-only-star", try editPatterns { $0["reply"] = ["*"] }, "invalid"))
        cases.append(("v5-patterns-unsorted", try editPatterns { $0["subject"] = ["re", "aw"] }, "invalid"))
        cases.append(("v5-pattern-too-long", try editPatterns { $0["separator"] = .array([.string(String(repeating: "a", count: 300) + "*")]) }, "invalid"))
        cases.append(("v5-patterns-extra-kind", try editPatterns { $0["regex"] = ["(a+)+$"] }, "payload.unknownField"))
        cases.append(("v5-clean-extra-member", try editClean { $0["script"] = "rm -rf /" }, "payload.unknownField"))
        cases.append(("v5-clean-not-boolean", try editClean { $0["quotes"] = "yes" }, "payload.typeMismatch"))
        // Patterns changed: the provenance's hash no longer matches; changed with a matching hash,
        // an e-mail probe cleans differently.
        func emptied(_ p: inout JSONObject) { p["reply"] = []; p["header_from"] = []; p["signoff"] = []; p["disclaimer"] = [] }
        cases.append(("v5-patterns-hash-mismatch", try editPatterns(emptied), "invalid"))
        cases.append(("v5-patterns-changed", try editPayload { object in
            var patterns = try #require(object["clean_patterns"]?.objectValue)
            emptied(&patterns)
            object["clean_patterns"] = .object(patterns)
            var provenance = try #require(object["provenance"]?.objectValue)
            provenance["mail_patterns_sha256"] = .string(try StrictJSONDecoder().decode(MailPatterns.self, from: .object(patterns)).sha256)
            object["provenance"] = .object(provenance)
        }, "probeMismatch"))
        return cases
    }

    /// Version 6: the head and the rules, checked as training checks them, and the probes'
    /// matched rules.
    static func version6() throws -> [(name: String, bytes: [UInt8], expected: String)] {
        let key = try ArtifactFixtures.signingKey
        let (good, _) = try ArtifactFixtures.smallRulesArtifact()
        let parts = try ModelFileParts(good)
        func editPayload(_ base: ModelFileParts = parts, _ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            var p = base
            try p.editPayload(edit)
            return try p.signed(with: key)
        }
        func editRule(_ index: Int, _ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            try editPayload { object in
                var set = try #require(object["rules"]?.objectValue)
                var rules = try #require(set["rules"]?.arrayValue)
                var rule = try #require(rules[index].objectValue)
                try edit(&rule)
                rules[index] = .object(rule)
                set["rules"] = .array(rules)
                object["rules"] = .object(set)
            }
        }
        var cases: [(String, [UInt8], String)] = []
        cases.append(("v6-head-missing", try editPayload { $0["head"] = nil }, "invalid"))
        cases.append(("v6-head-empty", try editPayload { $0["head"] = "" }, "invalid"))
        cases.append(("v6-override-unknown-label", try editRule(0) { $0["label"] = "wire_fraud" }, "invalid"))
        cases.append(("v6-override-unknown-head", try editRule(0) { $0["head"] = "priority" }, "invalid"))
        cases.append(("v6-rule-backreference", try editRule(2) { $0["regex"] = "(a+)\\1" }, "invalid"))
        cases.append(("v6-rule-catastrophic-regex", try editRule(2) { $0["regex"] = "(a{1000}){1000}" }, "invalid"))
        cases.append(("v6-rule-extra-member", try editRule(1) { $0["eval"] = "__import__('os')" }, "payload.unknownField"))
        cases.append(("v6-rule-words-and-regex", try editRule(1) { $0["regex"] = "fraud" }, "invalid"))
        cases.append(("v6-rule-duplicate-name", try editRule(2) { $0["name"] = "fraud" }, "invalid"))
        cases.append(("v6-rule-bad-mode", try editRule(1) { $0["mode"] = "execute" }, "payload.other"))
        cases.append(("v6-feature-rule-dropped", try editPayload { object in
            var set = try #require(object["rules"]?.objectValue)
            set["rules"] = .array(Array(try #require(set["rules"]?.arrayValue).prefix(2)))
            object["rules"] = .object(set)
        }, "invalid"))
        cases.append(("v6-feature-made-override", try editRule(1) { rule in
            rule["mode"] = "override"
            rule["label"] = "payments"
        }, "invalid"))
        cases.append(("v6-override-words-changed", try editRule(0) { $0["words"] = ["never matches this"] }, "probeRulesMismatch"))
        cases.append(("v6-probe-rules-missing", try editPayload { object in
            var probes = try #require(object["probes"]?.arrayValue)
            var probe = try #require(probes[0].objectValue)
            probe["rules"] = nil
            probes[0] = .object(probe)
            object["probes"] = .array(probes)
        }, "invalid"))
        cases.append(("v6-rules-dropped", try editPayload { $0["rules"] = nil }, "invalid"))
        // A rules-only model: its dummy's probabilities are a distribution over the labels.
        let rulesOnly = try ModelFileParts(try ArtifactFixtures.smallRulesOnlyArtifact().bytes)
        func editDummy(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            try editPayload(rulesOnly) { object in
                var model = try #require(object["model"]?.objectValue)
                try edit(&model)
                object["model"] = .object(model)
            }
        }
        cases.append(("v6-dummy-probabilities-sum", try editDummy { $0["probabilities"] = .array([0.5, 0.5, 0.5].map { JSONValue.double($0) ?? .null }) }, "invalid"))
        cases.append(("v6-dummy-negative", try editDummy { $0["probabilities"] = .array([1.5, -0.25, -0.25].map { JSONValue.double($0) ?? .null }) }, "invalid"))
        cases.append(("v6-dummy-strategy", try editDummy { $0["strategy"] = "uniform" }, "invalid"))
        cases.append(("v6-dummy-extra-member", try editDummy { $0["weights"] = [1, 2, 3] }, "payload.unknownField"))
        // A version-5 payload cannot hold rules or a head.
        let (v5, _) = try ArtifactFixtures.smallCleanArtifact()
        cases.append(("v6-rules-in-version-5", try editPayload(try ModelFileParts(v5)) { object in
            object["head"] = "label"
        }, "invalid"))
        return cases
    }

    /// Version 7: the later heads, checked as the first head is, and their probes.
    static func version7() throws -> [(name: String, bytes: [UInt8], expected: String)] {
        let key = try ArtifactFixtures.signingKey
        let parts = try ModelFileParts(try ArtifactFixtures.smallHeadsArtifact().bytes)
        func editPayload(_ base: ModelFileParts = parts, _ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            var p = base
            try p.editPayload(edit)
            return try p.signed(with: key)
        }
        func editHead(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            try editPayload { object in
                var heads = try #require(object["heads"]?.arrayValue)
                var head = try #require(heads[0].objectValue)
                try edit(&head)
                heads[0] = .object(head)
                object["heads"] = .array(heads)
            }
        }
        var cases: [(String, [UInt8], String)] = []
        cases.append(("v7-head-named-twice", try editHead { $0["name"] = "queue" }, "invalid"))
        cases.append(("v7-head-name-empty", try editHead { $0["name"] = "" }, "invalid"))
        cases.append(("v7-head-one-label", try editHead { $0["labels"] = ["long"] }, "invalid"))
        cases.append(("v7-head-labels-swapped", try editHead { $0["labels"] = ["short", "long"] }, "invalid"))
        cases.append(("v7-head-duplicate-label", try editHead { $0["labels"] = ["long", "long"] }, "invalid"))
        cases.append(("v7-head-clf-mismatch", try editHead { $0["clf"] = ["type": "logistic_regression"] }, "invalid"))
        cases.append(("v7-head-extra-member", try editHead { $0["callback"] = "os.system" }, "payload.unknownField"))
        cases.append(("v7-head-probe-moved", try editHead { head in
            var probes = try #require(head["probes"]?.arrayValue)
            probes[0] = .array([JSONValue.double(0.25) ?? .null, JSONValue.double(0.75) ?? .null])
            head["probes"] = .array(probes)
        }, "probeMismatch"))
        cases.append(("v7-head-probes-missing", try editHead { $0["probes"] = [] }, "invalid"))
        cases.append(("v7-heads-empty", try editPayload { $0["heads"] = [] }, "invalid"))
        cases.append(("v7-heads-dropped", try editPayload { $0["heads"] = nil }, "invalid"))  // its weights then go unread
        cases.append(("v7-rule-unknown-head", try editPayload { object in
            var set = try #require(object["rules"]?.objectValue)
            var rules = try #require(set["rules"]?.arrayValue)
            var rule = try #require(rules[0].objectValue)
            rule["head"] = "severity"
            rules[0] = .object(rule)
            set["rules"] = .array(rules)
            object["rules"] = .object(set)
        }, "invalid"))
        // A version-6 payload cannot hold several heads.
        let v6 = try ModelFileParts(try ArtifactFixtures.smallRulesArtifact().bytes)
        // (A dummy head: it refers to no weight matrix, so the file decodes and the version is what is refused.)
        let headsJSON = try JSONParser.parse(Array(#"[{"name": "length", "labels": ["long", "short"], "clf": {"type": "dummy", "strategy": "prior"}, "model": {"type": "dummy", "strategy": "prior", "class_names": ["long", "short"], "feature_count": 1, "probabilities": [0.5, 0.5]}, "confidence_policy": {"calibration": {"method": "temperature", "temperature": 1.0}, "goal": {"kind": "manual", "value": 0.5}, "threshold": 0.5}, "probes": []}]"#.utf8))
        cases.append(("v7-heads-in-version-6", try editPayload(v6) { $0["heads"] = headsJSON }, "invalid"))
        return cases
    }

    static func version3() throws -> [(name: String, bytes: [UInt8], expected: String)] {
        let key = try ArtifactFixtures.signingKey
        let attacker = SigningKey()
        let (good, _) = try ArtifactFixtures.smallLinearArtifact(weights: .int8, version: 3)
        let (good32, _) = try ArtifactFixtures.smallLinearArtifact(weights: .float32, version: 3)
        let parts = try ModelFileParts(good)
        var cases: [(String, [UInt8], String)] = []
        func edited(_ base: ModelFileParts = parts, _ edit: (inout ModelFileParts) throws -> Void) throws -> [UInt8] {
            var p = base
            try edit(&p)
            return try p.signed(with: key)
        }
        /// Edits the first object of the payload's array `key` (`matrices`, `features`).
        func editFirst(of key: String, _ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] {
            try edited { p in
                try p.editPayload { object in
                    var array = try #require(object[key]?.arrayValue)
                    var first = try #require(array[0].objectValue)
                    try edit(&first)
                    array[0] = .object(first)
                    object[key] = .array(array)
                }
            }
        }
        func editMatrix(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] { try editFirst(of: "matrices", edit) }
        func editFeatures(_ edit: @escaping (inout JSONObject) throws -> Void) throws -> [UInt8] { try editFirst(of: "features", edit) }
        let headerLength = ModelFile.readUInt32(good, at: 44)
        let dataStart = ModelFile.prefixLength + headerLength + ModelFile.signatureLength
        cases.append(("v3-truncated", Array(good.dropLast()), "invalid"))
        cases.append(("v3-appended-byte", good + [0], "invalid"))
        cases.append(("v3-prefix-only", Array(good.prefix(60)), "notAnArtifact"))
        var hugeHeader = good
        hugeHeader[44 ..< 48] = [0xFF, 0xFF, 0xFF, 0xFF]
        cases.append(("v3-header-length-overflow", hugeHeader, "notAnArtifact"))
        var future = parts
        future.version = ModelArtifact.formatVersion + 1
        cases.append(("v3-future-version", try future.signed(with: key), "unsupportedVersion"))
        var relabelled = parts
        relabelled.version = 4
        cases.append(("v3-payload-in-version-4-file", try relabelled.signed(with: key), "invalid"))
        var otherSigner = try parts.signed(with: attacker)
        otherSigner[12 ..< 44] = ArraySlice(Hex.decode(key.verifyingKey.id) ?? [])
        cases.append(("v3-wrong-key", otherSigner, "badSignature"))
        cases.append(("v3-unknown-key-id", try parts.signed(with: attacker), "unknownKeyId"))
        var flipped = good
        flipped[good.count - 10] ^= 0x01   // inside the last section, after the signature
        cases.append(("v3-section-digest", flipped, "sectionDigest"))
        var flippedPayload = good
        flippedPayload[dataStart + 5] ^= 0x01
        cases.append(("v3-payload-digest", flippedPayload, "sectionDigest"))
        cases.append(("v3-unused-section", try edited { $0.sections.append((name: "extra", bytes: [1, 2, 3])) }, "invalid"))
        cases.append(("v3-duplicate-section", try edited { $0.sections.append((name: "payload", bytes: [])) }, "invalid"))
        cases.append(("v3-payload-not-first", try edited { $0.sections.append($0.sections.removeFirst()) }, "invalid"))
        cases.append(("v3-missing-section", try edited { p in
            let i = try #require(p.sections.firstIndex { $0.name == "features[0].vocabulary" })
            p.sections[i].name = "features[0].terms"
        }, "invalid"))
        cases.append(("v3-payload-version-2", try edited { try $0.editPayload { $0["format_version"] = 2 } }, "invalid"))
        cases.append(("v3-scale-zero", try editMatrix { m in
            var scales = try #require(m["scales"]?.arrayValue)
            scales[0] = .number(JSONNumber(0))
            m["scales"] = .array(scales)
        }, "invalid"))
        cases.append(("v3-scale-negative", try editMatrix { m in
            var scales = try #require(m["scales"]?.arrayValue)
            scales[1] = JSONValue.double(-0.5) ?? .null
            m["scales"] = .array(scales)
        }, "invalid"))
        cases.append(("v3-scale-nan", try edited { p in
            let text = String(decoding: p.sections[0].bytes, as: UTF8.self)
            let range = try #require(text.range(of: "\"scales\":["))
            p.sections[0].bytes = Array(text.replacingCharacters(in: range, with: "\"scales\":[NaN,").utf8)
        }, "payloadSyntax.invalidSyntax"))
        cases.append(("v3-scale-huge", try editMatrix { m in
            var scales = try #require(m["scales"]?.arrayValue)
            scales[0] = JSONValue.double(1e300) ?? .null   // finite as a double, infinite as a 32-bit scale
            m["scales"] = .array(scales)
        }, "payload.other"))
        cases.append(("v3-scales-missing", try editMatrix { $0["scales"] = nil }, "invalid"))
        cases.append(("v3-matrix-rows", try editMatrix { m in m["rows"] = .number(JSONNumber((m["rows"]?.numberValue?.intValue ?? 0) + 1)) }, "invalid"))
        cases.append(("v3-matrix-overflow", try editMatrix { m in
            m["rows"] = .number(JSONNumber(1 << 61))
            m["columns"] = .number(JSONNumber(64))
        }, "invalid"))
        cases.append(("v3-matrix-encoding", try editMatrix { $0["encoding"] = "float8" }, "payload.other"))
        cases.append(("v3-int8-minus-128", try edited { p in
            var m = try #require(p.section("matrices[0]"))
            m[3] = 0x80
            p.replace("matrices[0]", with: m)
        }, "invalid"))
        cases.append(("v3-matrix-unused", try edited { p in
            try p.editPayload { object in
                var matrices = try #require(object["matrices"]?.arrayValue)
                var m = try #require(matrices[0].objectValue)
                m["section"] = "matrices[1]"
                matrices.append(.object(m))
                object["matrices"] = .array(matrices)
            }
            p.sections.append((name: "matrices[1]", bytes: try #require(p.section("matrices[0]"))))
        }, "invalid"))
        cases.append(("v3-coef-columns", try edited { p in
            try p.editPayload { object in
                var model = try #require(object["model"]?.objectValue)
                model["coef"] = ["matrix": 0, "column": 1_000_000]
                object["model"] = .object(model)
            }
        }, "payload.other"))
        cases.append(("v3-coef-matrix", try edited { p in
            try p.editPayload { object in
                var model = try #require(object["model"]?.objectValue)
                model["coef"] = ["matrix": 7, "column": 0]
                object["model"] = .object(model)
            }
        }, "payload.other"))
        let parts32 = try ModelFileParts(good32)
        cases.append(("v3-float32-nan", try edited(parts32) { p in
            var m = try #require(p.section("matrices[0]"))
            m[4 ..< 8] = [0x00, 0x00, 0xC0, 0x7F]
            p.replace("matrices[0]", with: m)
        }, "invalid"))
        cases.append(("v3-float32-infinity", try edited(parts32) { p in
            var m = try #require(p.section("matrices[0]"))
            m[0 ..< 4] = [0x00, 0x00, 0x80, 0x7F]
            p.replace("matrices[0]", with: m)
        }, "invalid"))
        cases.append(("v3-vocabulary-count", try editFeatures { f in
            var v = try #require(f["vocabulary"]?.objectValue)
            v["count"] = .number(JSONNumber((v["count"]?.numberValue?.intValue ?? 0) + 1))
            f["vocabulary"] = .object(v)
        }, "invalid"))
        cases.append(("v3-vocabulary-utf8", try edited { p in
            var v = try #require(p.section("features[0].vocabulary"))
            v[1] = 0xFF
            p.replace("features[0].vocabulary", with: v)
        }, "invalid"))
        cases.append(("v3-vocabulary-length-overflow", try edited { p in
            var v = try #require(p.section("features[0].vocabulary"))
            v.replaceSubrange(0 ..< 1, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
            p.replace("features[0].vocabulary", with: v)
        }, "invalid"))
        cases.append(("v3-idf-short", try edited { p in
            p.replace("features[0].idf", with: Array(try #require(p.section("features[0].idf")).dropLast(8)))
        }, "invalid"))
        cases.append(("v3-idf-below-one", try edited { p in
            var idf = try #require(p.section("features[0].idf"))
            idf[0 ..< 8] = ArraySlice(withUnsafeBytes(of: 0.5) { Array($0) })
            p.replace("features[0].idf", with: idf)
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
        case .probeRulesMismatch: return "probeRulesMismatch"
        case .sectionDigest: return "sectionDigest"
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
                try Data(bytes).write(to: AttackCorpus.directory.appendingPathComponent(AttackCorpus.fileName(name)))
                expected[name] = .string(kind)
            }
            try Data(JSONWriter.bytes(.object(expected), options: .init(sortedKeys: true, pretty: true)))
                .write(to: AttackCorpus.directory.appendingPathComponent("expected.json"))
            try FileManager.default.createDirectory(at: AttackCorpus.valid, withIntermediateDirectories: true)
            for (name, bytes) in try AttackCorpus.validFiles() {
                try Data(bytes).write(to: AttackCorpus.valid.appendingPathComponent(name))
            }
        }
        let expected = try #require(try JSONParser.parse(Array(Data(contentsOf: AttackCorpus.directory.appendingPathComponent("expected.json")))).objectValue)
        #expect(expected.count >= 15)
        let trusted = [try ArtifactFixtures.signingKey.verifyingKey]
        for (name, kindValue) in expected.members {
            let path = AttackCorpus.directory.appendingPathComponent(AttackCorpus.fileName(name)).path
            do {
                _ = try ModelArtifact.load(path: path, trusted: trusted)
                Issue.record("\(name): accepted")
            } catch {
                #expect(AttackCorpus.kind(error) == kindValue.stringValue, "\(name): \(error)")
                #expect(!error.description.isEmpty)
            }
        }
    }

    /// The valid seeds load (so the fuzzer starts from files that reach the deepest checks).
    @Test func theValidSeedsLoad() throws {
        let trusted = [try ArtifactFixtures.signingKey.verifyingKey]
        let names = try FileManager.default.contentsOfDirectory(atPath: AttackCorpus.valid.path).filter { $0.hasSuffix(".triage") }
        #expect(names.count == 9)
        for name in names {
            let loaded = try ModelArtifact.load(path: AttackCorpus.valid.appendingPathComponent(name).path, trusted: trusted)
            #expect(loaded.formatVersion == (name.hasPrefix("v7-") ? 7 : name.hasPrefix("v6-") ? 6 : name.hasPrefix("v5-") ? 5 : name.hasPrefix("v4-") ? 4 : 3))
            if name.hasPrefix("v7-") { #expect(loaded.heads.names == ["queue", "length"]) }
            if name == "v6-linear-rules.triage" {
                #expect(loaded.pipeline.routing?.set == ArtifactFixtures.rules)
                #expect(loaded.pipeline.head == "queue")
            }
            if name == "v6-rules-only.triage" { #expect(loaded.pipeline.isRulesOnly) }
            if name.hasPrefix("v5-") { #expect(loaded.pipeline.cleaner != nil) }
            if name == "v4-linear-policy.triage" { #expect(loaded.pipeline.policy == ArtifactFixtures.policy(labels: loaded.pipeline.labels)) }
            #expect(try ModelArtifact.decodeUnsigned(Array(Data(contentsOf: AttackCorpus.valid.appendingPathComponent(name)))).id == loaded.id)
        }
    }
}
