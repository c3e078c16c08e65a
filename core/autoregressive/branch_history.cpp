#include "core/autoregressive/branch_history.h"

#include <algorithm>

namespace le {

void BranchHistory::clear() {
    m_listed.clear();
    m_dropped.clear();
    m_current = 0;
}

int BranchHistory::indexOf(quint64 id) const {
    for (size_t i = 0; i < m_listed.size(); ++i)
        if (m_listed[i].id == id) return int(i);
    return -1;
}

BranchRecord* BranchHistory::find(quint64 id) {
    const int index = indexOf(id);
    return index < 0 ? nullptr : &m_listed[size_t(index)];
}

const BranchRecord* BranchHistory::find(quint64 id) const {
    const int index = indexOf(id);
    return index < 0 ? nullptr : &m_listed[size_t(index)];
}

const BranchRecord* BranchHistory::findDropped(quint64 id) const {
    for (const BranchRecord& d : m_dropped)
        if (d.id == id) return &d;
    return nullptr;
}

void BranchHistory::add(BranchRecord branch) {
    m_current = branch.id;
    m_listed.push_back(std::move(branch));
}

int BranchHistory::remove(quint64 id) {
    const int index = indexOf(id);
    if (index >= 0) m_listed.erase(m_listed.begin() + index);
    return index;
}

void BranchHistory::keepOnly(quint64 id) {
    m_listed.erase(std::remove_if(m_listed.begin(), m_listed.end(),
                                  [id](const BranchRecord& b) { return b.id != id; }),
                   m_listed.end());
    m_dropped.clear();
    m_current = id;
}

std::vector<quint64> BranchHistory::overflow() const {
    const BranchRecord* currentBranch = current();
    const quint64 parent = currentBranch ? currentBranch->parent : 0;
    std::vector<quint64> out;
    int excess = size() - m_maxListed;
    for (const BranchRecord& b : m_listed) {
        if (excess <= 0) break;
        if (b.id == m_current || b.id == parent) continue;
        out.push_back(b.id);
        --excess;
    }
    return out;
}

int BranchHistory::drop(quint64 id) {
    const int index = indexOf(id);
    if (index < 0) return -1;
    BranchRecord record = m_listed[size_t(index)];
    m_listed.erase(m_listed.begin() + index);
    addDropped(std::move(record));
    return index;
}

void BranchHistory::addDropped(BranchRecord record) {
    record.frames.clear();
    record.last.images.clear();
    record.last.entropyBits.clear();
    record.last.distribution.clear();
    m_dropped.push_back(std::move(record));
    pruneDropped();
}

void BranchHistory::pruneDropped() {
    std::vector<quint64> needed;
    for (const BranchRecord& b : m_listed) {
        for (const BranchRecord* d = findDropped(b.parent); d; d = findDropped(d->parent)) {
            if (std::find(needed.begin(), needed.end(), d->id) != needed.end()) break;
            needed.push_back(d->id);
        }
    }
    m_dropped.erase(std::remove_if(m_dropped.begin(), m_dropped.end(),
                                   [&](const BranchRecord& d) {
                                       return std::find(needed.begin(), needed.end(), d.id) ==
                                              needed.end();
                                   }),
                    m_dropped.end());
}

BranchRecord* BranchHistory::record(const AutoregressiveStep& step) {
    BranchRecord* branch = find(step.branch);
    if (!branch) return nullptr;
    for (const AutoregressiveFrame& frame : step.frames)
        if (branch->frames.empty() || frame.stepsDone > branch->frames.back().stepsDone)
            branch->frames.push_back(frame);
    branch->last = step;
    branch->last.frames.clear();
    return branch;
}

qint64 BranchHistory::filledCells(const BranchRecord& branch) {
    return branch.last.stepsDone / std::max(1, branch.last.channels);
}

bool BranchHistory::isFresh(const BranchRecord& branch) {
    return branch.parent != 0 && filledCells(branch) <= branch.forkCells;
}

const BranchRecord* BranchHistory::rewindSource() const {
    const BranchRecord* branch = current();
    if (!branch) return nullptr;
    return isFresh(*branch) ? find(branch->parent) : branch;
}

quint64 BranchHistory::freeSeed(quint64 parent, qint64 forkCells, quint64 seed, double temperature,
                                quint64 ignoring) const {
    auto taken = [&](quint64 s) {
        return std::any_of(m_listed.begin(), m_listed.end(), [&](const BranchRecord& b) {
            return b.id != ignoring && b.parent == parent && b.forkCells == forkCells &&
                   b.seed == s && b.temperature == temperature;
        });
    };
    while (taken(seed)) ++seed;
    return seed;
}

std::vector<const BranchRecord*> BranchHistory::inOrderMade() const {
    std::vector<const BranchRecord*> all;
    for (const BranchRecord& b : m_listed) all.push_back(&b);
    for (const BranchRecord& d : m_dropped) all.push_back(&d);
    // Ids are generations: in the order made, so every source comes before its branches.
    std::sort(all.begin(), all.end(),
              [](const BranchRecord* a, const BranchRecord* b) { return a->id < b->id; });
    return all;
}

}  // namespace le
