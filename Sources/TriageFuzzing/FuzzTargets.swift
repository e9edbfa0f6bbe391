import Foundation
import TriageArtifact

/// libFuzzer entry point (built by scripts/fuzz).
///
/// `TRIAGE_FUZZ_MODE=payload` (the default) feeds the input to the model's payload decoder as if
/// its signature had verified — strict JSON, the closed schema, the semantic checks, the pipeline
/// and the golden probes; `envelope` feeds it to the whole loader, envelope and signature first;
/// `sections` feeds it to the version-3 file reader with the signature check skipped — the header,
/// the section table, each section's digest, the matrices, vocabularies and idf, then the payload.
/// Any error is fine; only a crash, a hang or a sanitizer report is a finding. `http` runs the
/// server's fast-path parser against NIO's HTTP/1 decoder (`HTTPDifferential`), where a
/// disagreement is a finding too. `clean` runs the clean step (HTML, quotes, signatures,
/// disclaimers) on the input as a body and as a subject, and checks its offset map: every copied
/// piece must be the original's bytes, and the text may not grow beyond twice the input. `mime`
/// runs the mail reader (`MailCheck`): the input as one message (as it is, as already-decoded
/// text, and with small limits) and as an mbox whose every message is parsed; a parse error is
/// fine, while two parses that differ, a body or header that grows too much, a malformed id, or
/// mbox messages outside the input, out of order or without end are findings. `rules` runs the
/// routing rules (`RulesCheck`): up to a 0x00, lines of regular expressions that `LinearRegexSet`
/// must answer for exactly as each `LinearRegex` does (and refuse as it does), and a rules file
/// that `RuleSet.parse` reads and whose `RuleMatcher` matches the text after the 0x00 as subject
/// and as body, a reused worker and a fresh match agreeing with each other and with each regex
/// rule's own `LinearRegex`; any disagreement is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func triageFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    var options = ModelArtifact.LoadOptions()
    options.maxBytes = 1 << 20
    if FuzzConfiguration.http {
        HTTPDifferential.check(bytes)
        return 0
    }
    if FuzzConfiguration.clean {
        CleanerCheck.check(bytes)
        return 0
    }
    if FuzzConfiguration.mime {
        MailCheck.check(bytes)
        return 0
    }
    if FuzzConfiguration.rules {
        RulesCheck.check(bytes)
        return 0
    }
    if FuzzConfiguration.sections {
        _ = try? ModelArtifact.decodeUnsigned(bytes, options: options)
    } else if FuzzConfiguration.envelope {
        _ = try? ModelArtifact.decode(bytes, trusted: [FuzzConfiguration.key], options: options)
    } else {
        _ = try? ModelArtifact.decodeVerifiedPayload(bytes, keyId: FuzzConfiguration.key.id, options: options)
    }
    return 0
}

enum FuzzConfiguration {
    static let envelope = ProcessInfo.processInfo.environment["TRIAGE_FUZZ_MODE"] == "envelope"
    static let http = ProcessInfo.processInfo.environment["TRIAGE_FUZZ_MODE"] == "http"
    static let sections = ProcessInfo.processInfo.environment["TRIAGE_FUZZ_MODE"] == "sections"
    static let clean = ProcessInfo.processInfo.environment["TRIAGE_FUZZ_MODE"] == "clean"
    static let mime = ProcessInfo.processInfo.environment["TRIAGE_FUZZ_MODE"] == "mime"
    static let rules = ProcessInfo.processInfo.environment["TRIAGE_FUZZ_MODE"] == "rules"
    /// The test fixtures' public key (Tests/TriageArtifactTests/Fixtures/test-public.pem), so
    /// seeds signed with it get past the signature in envelope mode.
    static let key: VerifyingKey = {
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEATHPRSxAIRG4lAvbDB3iiPKNlfbHAmRcyuPTeuscaG3o=\n-----END PUBLIC KEY-----\n"
        do { return try VerifyingKey(pem: pem) } catch { fatalError("the built-in fuzz key does not parse: \(error)") }
    }()
}
