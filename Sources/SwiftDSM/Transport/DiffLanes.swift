/// A diff sink of two lanes, for the one-sided transports (rma, ucx): whole words go by
/// one-sided puts straight into the home (`whole`); partially changed words go to the
/// home's service thread (`partial`, the message path), which applies them with atomic
/// XORs. A one-sided read-modify-write of such a word could lose bytes the home itself
/// writes at the same time (measured: the multiple-writer test lost them at 4 ranks with
/// MPI_Accumulate), and a NIC's atomics are not atomic with the home CPU's own stores.
final class DiffLanes: DiffSink {
    let whole: WholeWordSink
    let partial: DiffSink
    private var wholeOutstanding = false

    init(whole: WholeWordSink, partial: DiffSink) {
        self.whole = whole
        self.partial = partial
    }

    func write(_ batch: RunBatch, to home: Int) {
        guard !batch.isEmpty else { return }
        if !batch.partial.isEmpty { partial.write(batch.partialOnly, to: home) }
        if !batch.whole.isEmpty {
            whole.write(wholeWordsOf: batch, to: home)
            wholeOutstanding = true
        }
    }

    func completeWrites() {
        if wholeOutstanding {
            whole.completeWholeWords()
            wholeOutstanding = false
        }
        partial.completeWrites()
    }
}
