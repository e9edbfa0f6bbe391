import TriageCore

public struct SearchOptions: Sendable {
    /// Folds of stratified K-fold cross-validation.
    public var folds: Int = 3
    /// The metric that ranks candidates (scikit-learn `scoring` names).
    public var scoring: String = "accuracy"
    /// Seeds the folds (the classifiers keep their own `random_state`).
    public var seed: UInt64 = 0
    public var smallClasses: SmallClassPolicy = .error
    /// Threads for (candidate, fold) pairs; each fit runs on one.
    public var threads: Int? = nil
    public var shard: Shard? = nil
    public var stopWordDirectories: [String]? = nil

    public init() {}
}

/// Work counters: what the search computed, to show what sharing saved.
public struct SearchCounters: Sendable, Equatable {
    /// Tokenisation passes over the training messages (one per distinct analyzer setting and
    /// subject weight — not per fold, not per candidate).
    public var tokenizations = 0
    /// Vocabularies counted (per fold and vectorizer setting).
    public var vectorizations = 0
    /// TF-IDF weightings (per fold, vectorizer and TF-IDF setting).
    public var tfidfs = 0
    /// Classifier preparations shared between fits: trees' binned matrices (per fold, feature
    /// matrix and max_bins).
    public var binnings = 0
    /// Pipeline fits completed (one per (candidate, fold) pair run).
    public var fits = 0
    /// Pairs found finished in the ledger and skipped.
    public var resumed = 0

    public init() {}

    /// The counters of a run: stage computations from its cache, and the fits it completed.
    init(cache: StageCache, fits: Int, resumed: Int) {
        let computed = cache.computations
        tokenizations = computed[.tokens] ?? 0
        vectorizations = computed[.counts] ?? 0
        tfidfs = computed[.tfidf] ?? 0
        binnings = computed[.preparation] ?? 0
        self.fits = fits
        self.resumed = resumed
    }

    public var json: JSONValue {
        ["tokenizations": .number(JSONNumber(tokenizations)), "vectorizations": .number(JSONNumber(vectorizations)),
         "tfidfs": .number(JSONNumber(tfidfs)), "binnings": .number(JSONNumber(binnings)), "fits": .number(JSONNumber(fits)),
         "resumed": .number(JSONNumber(resumed))]
    }
}
