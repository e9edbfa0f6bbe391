import TriageCore

/// The second stage of `CountVectorizer`'s fit: n-grams of a tokenised corpus counted per
/// document over a canonical (code-point-sorted) feature list, on all cores, deterministically.
extension CountVectorizer {
    /// Unigrams: the features are the terms themselves, already in canonical order.
    func countUnigrams(_ seq: WordSequences, threads: Int) -> FeatureCounts {
        let chunks = Parallel.chunks(count: seq.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let results = Parallel.map(count: chunks.count, threads: threads) { c -> ([Int32], [Int32], [Int]) in
            var features: [Int32] = [], counts: [Int32] = [], lengths: [Int] = []
            var scratch: [Int32] = []
            for d in chunks[c] {
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: seq.document(d))
                let before = features.count
                appendCountedRow(&scratch, features: &features, counts: &counts)
                lengths.append(features.count - before)
            }
            return (features, counts, lengths)
        }
        return concatenate(results, vocabulary: .terms(seq.terms))
    }

    /// Word n-grams. When the term ranks of the longest n-gram fit in 64 bits (and no term holds
    /// a byte ≤ 0x20), an n-gram is one integer: each position `rank + 1`, left-aligned, so
    /// integer order is the code point order of the space-joined strings. Otherwise each n-gram
    /// is interned as bytes. Either way per worker, then merged and put in canonical order.
    func countWordNgrams(_ seq: WordSequences, threads: Int) -> FeatureCounts {
        let bits = max(1, 64 - UInt64(seq.terms.count).leadingZeroBitCount)
        if seq.separatorSafe && bits * ngramRange.max <= 64 {
            return countPackedNgrams(seq, bits: bits, threads: threads)
        }
        let range = ngramRange
        let chunks = Parallel.chunks(count: seq.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let (workers, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: threads, makeState: { KeyTable(worker: $0) }
        ) { table, c -> (Int, [Int32], [Int]) in
            var occurrences: [Int32] = [], lengths: [Int] = []
            var key: [UInt8] = []
            for d in chunks[c] {
                let doc = seq.document(d)
                let before = occurrences.count
                let n0 = doc.startIndex
                for n in range.min ... range.max where n <= doc.count {
                    for i in 0 ... (doc.count - n) {
                        key.removeAll(keepingCapacity: true)
                        for k in 0 ..< n { appendKey(doc[n0 + i + k], to: &key) }
                        occurrences.append(table.keys.intern(key))
                    }
                }
                lengths.append(occurrences.count - before)
            }
            return (table.worker, occurrences, lengths)
        }
        let (keys, localToGlobal) = mergeKeyTables(workers)
        let order: [Int32]
        if seq.separatorSafe {
            order = (0 ..< Int32(keys.count)).sorted { a, b in
                keys.withBytes(of: a) { ka in keys.withBytes(of: b) { kb in lexicographicLess(ka, kb) } }
            }
        } else {
            let joined = LazyVocabulary.wordNgrams(terms: seq.terms, keys: keys, order: Array(0 ..< Int32(keys.count)))
            var strings = ByteInterner(capacity: keys.count)
            var stringID = [Int32](repeating: 0, count: keys.count)
            for i in 0 ..< keys.count { stringID[i] = strings.intern(joined.string(i)) }
            order = (0 ..< Int32(keys.count)).sorted { a, b in
                let c = strings.compare(stringID[Int(a)], stringID[Int(b)])
                return c != 0 ? c < 0 : a < b
            }
        }
        let counted = canonicalCounts(results, localToGlobal: localToGlobal, order: order, threads: threads)
        return concatenate(counted, vocabulary: .wordNgrams(terms: seq.terms, keys: keys, order: order))
    }

    private func countPackedNgrams(_ seq: WordSequences, bits: Int, threads: Int) -> FeatureCounts {
        let range = ngramRange
        let chunks = Parallel.chunks(count: seq.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let (tables, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: threads, makeState: { PackedKeyTable(worker: $0) }
        ) { table, c -> (Int, [Int32], [Int]) in
            var occurrences: [Int32] = [], lengths: [Int] = []
            seq.ids.withUnsafeBufferPointer { ids in
                for d in chunks[c] {
                    let lo = seq.offsets[d], count = seq.offsets[d + 1] - lo
                    let before = occurrences.count
                    for n in range.min ... range.max where n <= count {
                        for i in lo ... (lo + count - n) {
                            var key: UInt64 = 0
                            for j in 0 ..< n { key |= UInt64(ids[i + j] + 1) << UInt64(64 - bits * (j + 1)) }
                            occurrences.append(table.keys.intern(key))
                        }
                    }
                    lengths.append(occurrences.count - before)
                }
            }
            return (table.worker, occurrences, lengths)
        }
        var merged = UInt64Interner(capacity: tables.map(\.keys.count).max() ?? 16)
        var maps: [[Int32]] = []
        for table in tables { maps.append(table.keys.keys.map { merged.intern($0) }) }
        let keys = merged.keys
        var pairs = keys.enumerated().map { KeyAndID(key: $0.element, id: Int32($0.offset)) }
        pairs.sort { $0.key < $1.key }
        let order = pairs.map(\.id)
        let counted = canonicalCounts(results, localToGlobal: maps, order: order, threads: threads)
        return concatenate(counted, vocabulary: .packedNgrams(terms: seq.terms, keys: keys, order: order, bits: bits))
    }

    /// Character n-grams (`char`) or padded in-word n-grams (`char_wb`), interned as bytes.
    func countCharNgrams(_ texts: NormalisedTexts, threads: Int) -> FeatureCounts {
        let range = ngramRange
        let wordBoundaries = analyzer == .charWB
        let chunks = Parallel.chunks(count: texts.offsets.count - 1, chunkSize: TokenizedCorpus.chunkSize)
        let (workers, results) = Parallel.forEachChunk(
            chunkCount: chunks.count, threads: threads, makeState: { KeyTable(worker: $0) }
        ) { table, c -> (Int, [Int32], [Int]) in
            var occurrences: [Int32] = [], lengths: [Int] = []
            var starts: [Int] = []
            texts.bytes.withUnsafeBufferPointer { all in
                for d in chunks[c] {
                    let text = UnsafeBufferPointer(rebasing: all[texts.offsets[d] ..< texts.offsets[d + 1]])
                    let before = occurrences.count
                    if wordBoundaries {
                        forEachWord(text) { word in
                            occurrences.append(contentsOf: table.wordNgrams(word, range))
                        }
                    } else {
                        scalarStarts(text, into: &starts)
                        forEachCharNgram(text, starts: starts, range) { occurrences.append(table.keys.intern($0)) }
                    }
                    lengths.append(occurrences.count - before)
                }
            }
            return (table.worker, occurrences, lengths)
        }
        let (keys, localToGlobal) = mergeKeyTables(workers)
        let order = (0 ..< Int32(keys.count)).sorted { keys.compare($0, $1) < 0 }
        let counted = canonicalCounts(results, localToGlobal: localToGlobal, order: order, threads: threads)
        return concatenate(counted, vocabulary: .bytes(keys, order: order))
    }

    /// Maps each chunk's local feature ids to canonical ids (`order[canonical] = global`) and
    /// counts them per document.
    private func canonicalCounts(_ results: [(Int, [Int32], [Int])], localToGlobal: [[Int32]],
                                 order: [Int32], threads: Int) -> [([Int32], [Int32], [Int])] {
        var canonical = [Int32](repeating: 0, count: order.count)
        for (rank, global) in order.enumerated() { canonical[Int(global)] = Int32(rank) }
        let rankOf = canonical
        return Parallel.map(count: results.count, threads: threads) { c -> ([Int32], [Int32], [Int]) in
            let (worker, occurrences, lengths) = results[c]
            let map = localToGlobal[worker]
            var features: [Int32] = [], counts: [Int32] = [], outLengths: [Int] = []
            var scratch: [Int32] = []
            var k = 0
            for length in lengths {
                scratch.removeAll(keepingCapacity: true)
                for _ in 0 ..< length {
                    scratch.append(rankOf[Int(map[Int(occurrences[k])])])
                    k += 1
                }
                let before = features.count
                appendCountedRow(&scratch, features: &features, counts: &counts)
                outLengths.append(features.count - before)
            }
            return (features, counts, outLengths)
        }
    }
}
