import Foundation

/// Names the calling thread as ps, top and perf show it (Linux keeps 15 bytes). Foundation's
/// `Thread.name`, set before `start()`, did not reach the thread on Linux: the log's threads
/// showed as the dispatch worker that created them ("oot.default-qos").
func nameThisThread(_ name: String) {
    #if os(Linux)
    // pthread_setname_np is a GNU extension Glibc's Swift module does not show; the kernel's
    // file for the same name is there on every Linux since 3.17.
    try? String(decoding: name.utf8.prefix(15), as: UTF8.self).write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
    #endif
}
