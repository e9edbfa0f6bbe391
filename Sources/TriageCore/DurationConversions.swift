extension Duration {
    /// The duration in seconds (seconds + attoseconds × 10⁻¹⁸), for timings and reports.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }

    /// The duration in milliseconds (seconds × 1000 + attoseconds × 10⁻¹⁵).
    public var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) * 1e-15 }
}
