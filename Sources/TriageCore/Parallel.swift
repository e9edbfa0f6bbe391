import Foundation
import Synchronization

/// Deterministic data parallelism on all cores.
///
/// Work is cut into chunks whose boundaries never depend on the thread count; workers take
/// chunks in turn and results come back indexed by chunk, so a caller that merges them in chunk
/// order gets the same bits with 1 thread or with 64. That is the whole determinism rule:
/// never let "which worker did it" reach an output.
public enum Parallel {
    /// Worker threads used when a caller gives no explicit count: the `TRIAGE_THREADS`
    /// environment variable when it holds a positive integer, else the active processor count.
    public static var defaultThreadCount: Int {
        if let text = ProcessInfo.processInfo.environment["TRIAGE_THREADS"], let n = Int(text), n > 0 {
            return n
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Resolves an optional requested thread count (nil or ≤ 0 means the default).
    public static func threadCount(_ requested: Int?) -> Int {
        guard let requested, requested > 0 else { return defaultThreadCount }
        return requested
    }

    /// Runs `body(index)` for every index in `0 ..< count` on up to `threads` workers and returns
    /// the results in index order.
    public static func map<T>(count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let (_, results) = forEachChunk(chunkCount: count, threads: threads, makeState: { _ in () }) { _, index in body(index) }
        return results
    }

    /// Processes chunks `0 ..< chunkCount` on up to `threads` workers. Each worker makes its own
    /// state once with `makeState(workerIndex)` (per-worker caches, stemmers: things that must
    /// not be shared) and passes it to `body` for every chunk it takes. Returns the worker states
    /// (`states[w]` made by `makeState(w)`, for merging) and the chunk results (in chunk order).
    ///
    /// Which worker handles which chunk is not deterministic; callers must make the merged
    /// result independent of it (use chunk results, or merge states order-independently).
    public static func forEachChunk<State, Result>(
        chunkCount: Int,
        threads: Int,
        makeState: @Sendable (_ worker: Int) -> State,
        body: @Sendable (inout State, Int) -> Result
    ) -> (states: [State], results: [Result]) {
        let workers = max(1, min(threads, chunkCount))
        if workers == 1 {
            var state = makeState(0)
            var results: [Result] = []
            results.reserveCapacity(chunkCount)
            for chunk in 0..<chunkCount { results.append(body(&state, chunk)) }
            return ([state], results)
        }
        let states = SlotArray<State>(count: workers)
        let results = SlotArray<Result>(count: chunkCount)
        let next = ChunkCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var state = makeState(worker)
            while true {
                let chunk = next.take()
                if chunk >= chunkCount { break }
                results.store(body(&state, chunk), at: chunk)
            }
            states.store(state, at: worker)
        }
        return (states.collect(), results.collect())
    }

    /// Like `forEachChunk(chunkCount:threads:makeState:body:)`, with states the caller keeps
    /// across calls (buffers worth reusing): worker `w` uses `states[w]`, so there are
    /// `states.count` workers. Returns the chunk results in chunk order.
    public static func forEachChunk<State, Result>(
        chunkCount: Int,
        states: inout [State],
        body: @Sendable (inout State, Int) -> Result
    ) -> [Result] {
        precondition(!states.isEmpty, "give at least one worker state")
        let workers = min(states.count, chunkCount)
        if workers <= 1 {
            var results: [Result] = []
            results.reserveCapacity(chunkCount)
            for chunk in 0 ..< chunkCount { results.append(body(&states[0], chunk)) }
            return results
        }
        let held = SlotArray<State>(count: states.count)
        for (w, state) in states.enumerated() { held.store(state, at: w) }
        states.removeAll()
        let results = SlotArray<Result>(count: chunkCount)
        let next = ChunkCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var state = held.take(worker)
            while true {
                let chunk = next.take()
                if chunk >= chunkCount { break }
                results.store(body(&state, chunk), at: chunk)
            }
            held.store(state, at: worker)
        }
        states = held.collect()
        return results.collect()
    }

    /// Splits `0 ..< count` into consecutive ranges of `chunkSize` (the last may be shorter).
    public static func chunks(count: Int, chunkSize: Int) -> [Range<Int>] {
        precondition(chunkSize > 0)
        return stride(from: 0, to: count, by: chunkSize).map { $0 ..< Swift.min($0 + chunkSize, count) }
    }
}

/// A shared "next chunk" counter.
private final class ChunkCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

/// Fixed-size storage written by several threads at disjoint indices, read after they finish.
///
/// Invariant that makes the `@unchecked Sendable` sound: each index is written by exactly one
/// thread, and `collect()` runs only after `concurrentPerform` has returned (which orders all
/// writes before it).
private final class SlotArray<T>: @unchecked Sendable {
    private let base: UnsafeMutablePointer<T?>
    private let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: Swift.max(count, 1))
        base.initialize(repeating: nil, count: count)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    func store(_ value: T, at index: Int) { base[index] = value }

    /// Moves the value out of slot `index` (which must hold one).
    func take(_ index: Int) -> T {
        guard let value = base[index] else { preconditionFailure("parallel slot \(index) is empty") }
        base[index] = nil
        return value
    }

    func collect() -> [T] {
        var out: [T] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let value = base[i] else { preconditionFailure("parallel slot \(i) was never written") }
            out.append(value)
        }
        return out
    }
}
