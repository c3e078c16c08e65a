#pragma once

// The branches of one autoregressive run as the user sees them: which exist, where each forked
// from its source, its seed and temperature, its latest report and its video frames, which one is
// current. AutoregressiveSession owns the samplers; this keeps what a view lists, saves and
// rewinds from, and decides which old branches to drop when there are too many (their samplers
// hold memory). A dropped branch's record stays while a listed branch still descends from it, so
// a workspace can rebuild the chain. Plain data, no threads: the GUI thread owns it.

#include "core/autoregressive/autoregressive_session.h"

#include <QtGlobal>

#include <vector>

namespace le {

struct BranchRecord {
    quint64 id = 0;      // the session's generation that made it
    quint64 parent = 0;  // its source; 0: the run's start
    qint64 forkCells = 0;
    quint64 seed = 1;
    double temperature = 1.0;
    AutoregressiveStep last;  // its latest report (without frames)
    std::vector<AutoregressiveFrame> frames;
};

class BranchHistory {
public:
    explicit BranchHistory(int maxListed = 12) : m_maxListed(maxListed) {}

    void clear();

    // The listed branches, in the order they were listed (a view's strip shows them so).
    int size() const { return int(m_listed.size()); }
    const BranchRecord& at(int index) const { return m_listed[size_t(index)]; }
    int indexOf(quint64 id) const;  // -1: not listed
    BranchRecord* find(quint64 id);
    const BranchRecord* find(quint64 id) const;
    const BranchRecord* findDropped(quint64 id) const;

    quint64 currentId() const { return m_current; }
    const BranchRecord* current() const { return find(m_current); }
    int currentIndex() const { return indexOf(m_current); }
    void setCurrent(quint64 id) { m_current = id; }

    // Lists the branch at the end and makes it current.
    void add(BranchRecord branch);
    // Unlists a branch and keeps no record of it; returns the index it had (-1: not listed).
    int remove(quint64 id);
    // Unlists every branch but `id` and forgets the dropped records; `id` becomes current.
    void keepOnly(quint64 id);

    // The listed branches beyond the bound to drop, oldest first: never the current one or its
    // source.
    std::vector<quint64> overflow() const;
    // Unlists a branch, keeping a record of it (without images or frames) while a listed branch
    // descends from it; returns the index it had (-1: not listed).
    int drop(quint64 id);
    // Records a record as dropped (a workspace rebuilds through it), then forgets the records no
    // listed branch descends from.
    void addDropped(BranchRecord record);

    // Keeps a branch's latest report and appends its new frames; null when no listed branch is
    // the report's.
    BranchRecord* record(const AutoregressiveStep& step);

    // Cells (pixels or codes) the branch has filled.
    static qint64 filledCells(const BranchRecord& branch);
    // A branch that has sampled nothing of its own yet (still at, or replaying up to, its fork).
    static bool isFresh(const BranchRecord& branch);
    // The branch a rewind of the current one keeps positions of: a fresh branch's source (the
    // rewind moves its fork), else the current branch itself.
    const BranchRecord* rewindSource() const;
    // `seed`, or the next one that no listed branch but `ignoring` uses for the same source,
    // fork and temperature (the same would repeat that branch's values).
    quint64 freeSeed(quint64 parent, qint64 forkCells, quint64 seed, double temperature,
                     quint64 ignoring) const;

    // Listed and dropped records in the order they were made: every source before its branches.
    std::vector<const BranchRecord*> inOrderMade() const;

private:
    void pruneDropped();

    int m_maxListed;
    std::vector<BranchRecord> m_listed;
    std::vector<BranchRecord> m_dropped;
    quint64 m_current = 0;
};

}  // namespace le
