/// Writes CSV as `CSVReader` reads it (RFC 4180): fields separated by commas, records ended by
/// CRLF; a field that holds a comma, a double quote, CR or LF is quoted, its quotes doubled.
/// What it writes, `CSVReader` reads back field for field.
public enum CSVWriter {
    /// One field, quoted when it must be.
    public static func field(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One record, CRLF included.
    public static func record(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// A header and its rows.
    public static func document(header: [String], rows: [[String]]) -> String {
        var out = record(header)
        for row in rows { out += record(row) }
        return out
    }
}
