/// ISO 8601 UTC timestamps with milliseconds (`2026-12-01T18:37:12.345Z`), as the log stores
/// them. Written by hand: Foundation's ISO8601DateFormatter goes through ICU and took a tenth of
/// the log writer's time. Rounded to the nearest millisecond, as the formatter does.
enum UTCTimestamp {
    static func string(_ secondsSince1970: Double) -> String {
        let totalMilliseconds = Int64((secondsSince1970 * 1000).rounded())
        let (daysSince1970, msOfDay) = floorDivide(totalMilliseconds, 86_400_000)
        let (year, month, day) = civilDate(daysSince1970: daysSince1970)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1 ..< count { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(v / divisor))
                v %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-"))
        digits(month, 2); out.append(UInt8(ascii: "-"))
        digits(day, 2); out.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2); out.append(UInt8(ascii: ":"))
        digits(msOfDay / 60000 % 60, 2); out.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2); out.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// Proleptic Gregorian year, month, day of a day count from 1970-01-01 (the "days from
    /// civil" inversion over 400-year eras, as in H. Hinnant's public-domain date algorithms).
    static func civilDate(daysSince1970: Int64) -> (Int64, Int64, Int64) {
        let z = daysSince1970 + 719_468
        let era = floorDivide(z, 146_097).0
        let dayOfEra = z - era * 146_097                                               // [0, 146096]
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365  // [0, 399]
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)   // [0, 365], from March 1
        let mp = (5 * dayOfYear + 2) / 153                                               // [0, 11], March = 0
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

