import Foundation
import TriageModel

/// Progress of long work on stderr: a redrawn bar on a terminal, plain periodic lines otherwise
/// (a build log), nothing with --quiet.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let terminal = Console.stderrIsTerminal
    private let label: String
    private var lastDraw = ContinuousClock.now - .seconds(3600)
    private var lastPlainPercent = -1
    private var drewBar = false
    private let enabled: Bool

    init(label: String, enabled: Bool = !Console.quiet) {
        self.label = label
        self.enabled = enabled
    }

    /// Called from worker threads; draws at most 10 times a second (plain: every 10 % or 30 s).
    func update(done: Int, total: Int, eta: Double?, detail: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        let percent = total == 0 ? 100 : done * 100 / total
        if terminal {
            guard done == total || now - lastDraw >= .milliseconds(100) else { return }
            lastDraw = now
            let width = 24
            let filled = total == 0 ? width : done * width / total
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let etaText = eta.map { "ETA \($0.humanDuration)" } ?? "ETA …"
            let line = "\(label) \(bar) \(done)/\(total) \(percent)%  \(etaText)  \(detail)"
            Console.err("\r\u{1B}[K" + line)
            drewBar = true
        } else {
            guard percent / 10 != lastPlainPercent / 10 || now - lastDraw >= .seconds(30) || done == total else { return }
            lastPlainPercent = percent
            lastDraw = now
            let etaText = eta.map { ", ETA \($0.humanDuration)" } ?? ""
            Console.err("\(label): \(done)/\(total) (\(percent)%\(etaText)) \(detail)\n")
        }
    }

    /// Ends the bar's line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drewBar { Console.err("\n") }
        drewBar = false
    }
}
