import ArgumentParser
import Foundation
import TriageArtifact

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an Ed25519 key pair for signing models.",
        discussion: Help.prose("""
            Example:
              triage keygen --out keys/

            Writes keys/private.pem (mode 0600: keep it on the training box, never commit it) and
            keys/public.pem (give it to servers, which pin it with --trusted-key). Refuses to
            overwrite an existing key. Prints the key id (SHA-256 of the public key).
            """)
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Directory for private.pem and public.pem (created if missing).", valueName: "dir"))
    var out: String

    func run() throws {
        do {
            let (privatePath, publicPath, key) = try generateKeyPair(in: out)
            print("private key  \(privatePath)  (mode 0600; keep it secret)")
            print("public key   \(publicPath)")
            print("key id       \(key.verifyingKey.id)")
        } catch {
            throw CLIFailure(message: "\(error)")
        }
    }
}
