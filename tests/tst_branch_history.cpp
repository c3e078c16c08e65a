// BranchHistory, the branches of an autoregressive run without a view: the bound on listed
// branches (never dropping the current one or its source), dropped records kept exactly while a
// listed branch descends from them, rewinds from a fresh branch's source, seeds moved off a
// repeated fork, reports and frames kept per branch, and the order a workspace saves them in.

#include "core/autoregressive/branch_history.h"

#include <QtTest>

using le::BranchHistory;
using le::BranchRecord;

namespace {

BranchRecord branch(quint64 id, quint64 parent, qint64 forkCells = 0, quint64 seed = 1) {
    BranchRecord b;
    b.id = id;
    b.parent = parent;
    b.forkCells = forkCells;
    b.seed = seed;
    return b;
}

le::AutoregressiveStep report(quint64 branchId, qint64 stepsDone, qint64 frameAt = -1) {
    le::AutoregressiveStep step;
    step.branch = branchId;
    step.stepsDone = stepsDone;
    step.images = {cv::Mat(2, 2, CV_8UC1, cv::Scalar(int(stepsDone)))};
    if (frameAt >= 0) step.frames.push_back({frameAt, step.images});
    return step;
}

std::vector<quint64> ids(const BranchHistory& h) {
    std::vector<quint64> out;
    for (int i = 0; i < h.size(); ++i) out.push_back(h.at(i).id);
    return out;
}

}  // namespace

class TestBranchHistory : public QObject {
    Q_OBJECT

private slots:
    void addMakesCurrentAndFinds();
    void overflowSparesTheCurrentAndItsSource();
    void droppedRecordsLiveWhileNeeded();
    void reportsKeepTheLatestStateAndNewFramesOnly();
    void freshBranchRewindsFromItsSource();
    void freeSeedSkipsARepeatedFork();
    void inOrderMadeListsSourcesFirst();
    void keepOnlyForgetsTheRest();
};

void TestBranchHistory::addMakesCurrentAndFinds() {
    BranchHistory h;
    QCOMPARE(h.current(), nullptr);
    h.add(branch(1, 0));
    h.add(branch(2, 1, 10));
    QCOMPARE(h.currentId(), quint64{2});
    QCOMPARE(h.currentIndex(), 1);
    QCOMPARE(h.indexOf(1), 0);
    QCOMPARE(h.indexOf(7), -1);
    QVERIFY(h.find(2) && h.find(2)->forkCells == 10);
    QCOMPARE(h.remove(1), 0);
    QCOMPARE(h.remove(1), -1);
    QCOMPARE(ids(h), std::vector<quint64>{2});
}

void TestBranchHistory::overflowSparesTheCurrentAndItsSource() {
    BranchHistory h(3);
    h.add(branch(1, 0));
    h.add(branch(2, 1, 5));
    h.add(branch(3, 2, 8));
    QVERIFY(h.overflow().empty());
    h.add(branch(4, 1, 6));  // source 1 (the oldest) is kept: the current branch descends from it
    QCOMPARE(h.overflow(), std::vector<quint64>{2});
    h.setCurrent(2);  // now 2 and its source 1 stay; 3 is the oldest of the rest
    QCOMPARE(h.overflow(), std::vector<quint64>{3});
}

void TestBranchHistory::droppedRecordsLiveWhileNeeded() {
    BranchHistory h(2);
    h.add(branch(1, 0));
    h.add(branch(2, 1, 5));
    h.add(branch(3, 2, 8));  // 3 descends from 2, which descends from 1
    h.find(1)->last = report(1, 40, 40);
    h.find(1)->frames.push_back({40, h.find(1)->last.images});
    const std::vector<quint64> over = h.overflow();
    QCOMPARE(over, std::vector<quint64>{1});
    QCOMPARE(h.drop(1), 0);
    QCOMPARE(ids(h), (std::vector<quint64>{2, 3}));
    // 2 descends from 1: its record stays, without the images it held.
    const BranchRecord* dropped = h.findDropped(1);
    QVERIFY(dropped);
    QVERIFY(dropped->frames.empty());
    QVERIFY(dropped->last.images.isEmpty());
    QCOMPARE(dropped->last.stepsDone, qint64{40});
    // Once nothing listed descends from it, the record goes too.
    h.add(branch(4, 3, 9));
    h.remove(2);
    h.remove(3);
    h.drop(4);
    QCOMPARE(h.size(), 0);
    QCOMPARE(h.findDropped(1), nullptr);
    QCOMPARE(h.findDropped(4), nullptr);
}

void TestBranchHistory::reportsKeepTheLatestStateAndNewFramesOnly() {
    BranchHistory h;
    h.add(branch(1, 0));
    QVERIFY(h.record(report(1, 4, 4)));
    QVERIFY(h.record(report(1, 8, 8)));
    QVERIFY(h.record(report(1, 8, 8)));  // a repeated frame (after a switch) is not kept twice
    QVERIFY(h.record(report(1, 6, 6)));  // nor an older one
    QCOMPARE(h.find(1)->frames.size(), size_t{2});
    QCOMPARE(h.find(1)->last.stepsDone, qint64{6});
    QVERIFY(h.find(1)->last.frames.empty());
    QCOMPARE(h.record(report(9, 1)), nullptr);
}

void TestBranchHistory::freshBranchRewindsFromItsSource() {
    BranchHistory h;
    h.add(branch(1, 0));
    h.find(1)->last = report(1, 30);
    h.add(branch(2, 1, 12));
    h.find(2)->last = report(2, 12);  // replayed up to its fork, nothing of its own
    QVERIFY(BranchHistory::isFresh(*h.find(2)));
    QCOMPARE(h.rewindSource(), h.find(1));
    h.find(2)->last = report(2, 13);
    QVERIFY(!BranchHistory::isFresh(*h.find(2)));
    QCOMPARE(h.rewindSource(), h.find(2));
    // Colour images fill a cell every three steps.
    h.find(2)->last.channels = 3;
    QCOMPARE(BranchHistory::filledCells(*h.find(2)), qint64{4});
    QVERIFY(!BranchHistory::isFresh(*h.find(1)));  // the run's start is never fresh
}

void TestBranchHistory::freeSeedSkipsARepeatedFork() {
    BranchHistory h;
    h.add(branch(1, 0));
    h.add(branch(2, 1, 10, 5));
    h.add(branch(3, 1, 10, 6));
    QCOMPARE(h.freeSeed(1, 10, 5, 1.0, 0), quint64{7});
    QCOMPARE(h.freeSeed(1, 11, 5, 1.0, 0), quint64{5});  // another fork
    QCOMPARE(h.freeSeed(1, 10, 5, 0.5, 0), quint64{5});  // another temperature
    QCOMPARE(h.freeSeed(1, 10, 5, 1.0, 2), quint64{5});  // the branch being replaced
}

void TestBranchHistory::inOrderMadeListsSourcesFirst() {
    BranchHistory h(2);
    h.add(branch(1, 0));
    h.add(branch(2, 1, 4));
    h.setCurrent(1);
    h.add(branch(5, 2, 6));
    h.drop(1);  // dropped, but 2 (listed) descends from it
    std::vector<quint64> order;
    for (const BranchRecord* b : h.inOrderMade()) order.push_back(b->id);
    QCOMPARE(order, (std::vector<quint64>{1, 2, 5}));
}

void TestBranchHistory::keepOnlyForgetsTheRest() {
    BranchHistory h(1);
    h.add(branch(1, 0));
    h.add(branch(2, 1, 3));
    h.drop(1);
    h.add(branch(3, 2, 4));
    h.keepOnly(3);
    QCOMPARE(ids(h), std::vector<quint64>{3});
    QCOMPARE(h.findDropped(1), nullptr);
    QCOMPARE(h.currentId(), quint64{3});
}

QTEST_GUILESS_MAIN(TestBranchHistory)
#include "tst_branch_history.moc"
