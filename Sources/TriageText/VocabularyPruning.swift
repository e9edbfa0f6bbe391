import TriageCore

extension CountVectorizer {
    /// scikit-learn's `_limit_features`: document-frequency bounds, then `max_features` (with the
    /// documented tie-break), then the count matrix over the kept terms.
    func prune(_ counted: FeatureCounts, documents: Int, threads: Int) throws(TextFeatureError) -> ([String], SparseMatrix) {
        let featureCount = counted.vocabulary.count
        var df = [Int](repeating: 0, count: featureCount)
        var tf = [Int](repeating: 0, count: featureCount)
        for (k, f) in counted.features.enumerated() {
            df[Int(f)] += 1
            tf[Int(f)] += binary ? 1 : Int(counted.counts[k])
        }
        let maxCount = maxDF.threshold(documents: documents)
        let minCount = minDF.threshold(documents: documents)
        if maxCount < minCount {
            throw .maxDFBelowMinDF(minDF: minDF, maxDF: maxDF, minCount: minCount, maxCount: maxCount, documents: documents)
        }
        // A term must occur in some fitted document (min_df 0 cannot admit terms of other rows
        // of a shared corpus).
        var kept = (0 ..< featureCount).filter { df[$0] > 0 && Double(df[$0]) <= maxCount && Double(df[$0]) >= minCount }
        if let limit = maxFeatures, kept.count > limit {
            kept.sort { tf[$0] != tf[$1] ? tf[$0] > tf[$1] : $0 < $1 }
            kept = Array(kept.prefix(limit)).sorted()
        }
        if kept.isEmpty { throw .noTermsRemain(minDF: minDF, maxDF: maxDF, maxFeatures: maxFeatures) }

        var column = [Int32](repeating: -1, count: featureCount)
        for (j, f) in kept.enumerated() { column[f] = Int32(j) }
        var offsets = [0]
        offsets.reserveCapacity(documents + 1)
        var indices: [Int32] = []
        var values: [Double] = []
        for d in 0 ..< documents {
            for k in counted.offsets[d] ..< counted.offsets[d + 1] {
                let j = column[Int(counted.features[k])]
                if j >= 0 {
                    indices.append(j)
                    values.append(binary ? 1 : Double(counted.counts[k]))
                }
            }
            offsets.append(indices.count)
        }
        let strings = counted.vocabulary
        let keptFeatures = kept
        let parts = Parallel.chunks(count: kept.count, chunkSize: 16384)
        let vocabulary = Parallel.map(count: parts.count, threads: threads) { p in parts[p].map { strings.string(keptFeatures[$0]) } }
            .flatMap { $0 }
        let matrix = SparseMatrix(unchecked: documents, columnCount: kept.count, rowOffsets: offsets,
                                  columnIndices: indices, values: values)
        return (vocabulary, matrix)
    }
}
