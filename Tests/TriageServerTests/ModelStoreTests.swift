import Foundation
import Synchronization
import Testing
import TriageArtifact
import TriageCore
@testable import TriageServer

@Suite("Model store")
struct ModelStoreTests {
    /// The race of the review: `reloads` was written under the store's lock and read without
    /// it by `/metrics`, and the model and the counts were read at different moments. Now a
    /// snapshot is taken under the lock that every reload holds while it changes them: with
    /// reloads of a good and a broken file alternating on other threads, every snapshot must
    /// be one the store actually passed through.
    @Test func aSnapshotNeverMixesTwoReloads() throws {
        let f = try Fixture.shared.get()
        let path = f.directory.appendingPathComponent("store-\(UUID().uuidString).triage").path
        try Data(f.modelBytes).write(to: URL(fileURLWithPath: path))
        let store = try ModelStore(path: path, trusted: [f.key.verifyingKey])
        let good = store.current.id
        let rounds = 12
        let done = Atomic<Bool>(false)
        let reloader = Thread {
            for round in 0 ..< rounds {
                // Even rounds: the good file (accepted); odd: a truncated one (refused).
                let bytes = round % 2 == 0 ? f.modelBytes : Array(f.modelBytes.prefix(100))
                try? Data(bytes).write(to: URL(fileURLWithPath: path + ".tmp"))
                _ = rename(path + ".tmp", path)
                _ = try? store.reload()
            }
            done.store(true, ordering: .releasing)
        }
        reloader.start()
        var seen = 0
        var last = (reloads: 0, refused: 0)
        while !done.load(ordering: .acquiring) || seen == 0 {
            let s = store.snapshot
            seen += 1
            // Counts only grow, and the last event decides the error: a refusal (odd) leaves
            // one more refused than accepted reload and an error; an accepted one none.
            #expect(s.reloads >= last.reloads && s.refusedReloads >= last.refused)
            #expect(s.reloads - s.refusedReloads == 0 || s.reloads - s.refusedReloads == 1, "\(s.reloads) ok, \(s.refusedReloads) refused")
            #expect((s.lastReloadError != nil) == (s.refusedReloads == s.reloads && s.reloads > 0), "\(s.reloads) ok, \(s.refusedReloads) refused, error \(s.lastReloadError ?? "none")")
            #expect(s.model.id == good)
            last = (s.reloads, s.refusedReloads)
        }
        let end = store.snapshot
        #expect(end.reloads == rounds / 2 && end.refusedReloads == rounds / 2 && end.lastReloadError != nil)
        try? FileManager.default.removeItem(atPath: path)
    }
}
