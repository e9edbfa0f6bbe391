import NIOCore
import NIOPosix

/// A task executor that runs Swift tasks on SwiftNIO's event-loop threads, on the loop that woke
/// them when there is one.
///
/// Hummingbird hands each request from the connection's event loop to a Swift task, by default
/// on the global concurrency pool, and the response back: two thread hops per request, each a
/// wake-up and a context switch. With this executor preferred for the server's tasks, a
/// connection's task runs on its own channel's loop once the first read resumes it, so a request
/// is parsed, answered and written on one thread. Handlers here do short CPU work (a prediction is
/// tens of microseconds) and never block on I/O: the prediction log is written by its own thread.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup = .singleton) {
        self.group = group
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
