// The Training tab: a 20-step run of a tiny VAE started from the form on a folder of generated
// images trains in the background, shows progress, curves and snapshots, keeps its folder
// (run.json, metrics.jsonl, model.lec) and is listed again, curve and all, by a new view over
// the same runs folder; its checkpoint opens with one click. A long run pauses, resumes and stops
// keeping a checkpoint; a bad model option fails with a message naming it. Ticked runs show
// overlaid or as small multiples; the tab's state goes into a workspace and comes back, a missing
// run warned about.

#include "core/imaging/image_io.h"
#include "core/storage/checkpoint.h"
#include "core/storage/workspace.h"
#include "ui/views/training_view.h"
#include "ui/widgets/image_view.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <qcustomplot.h>

#include <opencv2/imgproc.hpp>

using le::TrainingView;

class TestTrainingView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void twentyStepRunFromTheForm();
    void runsAreListedAgainAfterARestart();
    void pauseResumeAndStopKeepACheckpoint();
    void badModelOptionFailsWithItsName();
    void nanStopsTheRunWithAClearMessage();
    void smallMultiplesShowEachTickedRunInItsOwnPanel();
    void workspaceStateComesBackInAFreshView();
    void aDeletedTickedRunIsOneWarning();

private:
    void fillForm(TrainingView& view, int steps, const QString& options);
    // A runs folder of `count` finished runs written by hand (run.json, metrics.jsonl), each with
    // its own loss curve and its own number of steps: no training needed to draw them.
    QString writeRuns(const QString& name, int count);

    QTemporaryDir m_tmp;
    QString m_images;
    QString m_runs;
};

void TestTrainingView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    m_images = m_tmp.filePath("images");
    QDir().mkpath(m_images);
    for (int i = 0; i < 40; ++i) {  // every tenth is the test split
        cv::Mat image(32, 32, CV_8UC3, cv::Scalar(20 + i * 5, 80, 200 - i * 4));
        cv::circle(image, cv::Point(8 + i % 16, 16), 6, cv::Scalar(250, 250, 250), cv::FILLED);
        le::writeImage(QDir(m_images).filePath(QStringLiteral("img_%1.png").arg(i)), image);
    }
    m_runs = m_tmp.filePath("runs");
    // The layout is remembered between sessions; every test starts from the default.
    QSettings().remove(QStringLiteral("training/layout"));
}

QString TestTrainingView::writeRuns(const QString& name, int count) {
    const QString root = m_tmp.filePath(name);
    for (int r = 0; r < count; ++r) {
        const QString dir = QDir(root).filePath(QStringLiteral("run-%1").arg(r));
        QDir().mkpath(dir);
        const int steps = 30 + 10 * r;
        const QJsonObject spec{{"family", r % 2 ? "dcgan" : "vae"},
                               {"dataset", "fashion-mnist"},
                               {"steps", steps},
                               {"batch", 8}};
        QFile run(QDir(dir).filePath(QStringLiteral("run.json")));
        if (!run.open(QIODevice::WriteOnly)) return {};
        run.write(QJsonDocument(
                      QJsonObject{{"spec", spec}, {"status", "finished"}, {"steps_done", steps}})
                      .toJson());
        QFile metrics(QDir(dir).filePath(QStringLiteral("metrics.jsonl")));
        if (!metrics.open(QIODevice::WriteOnly)) return {};
        for (int step = 1; step <= steps; ++step) {
            // A GAN's loss is on a scale of its own.
            const double loss = r % 2 ? 1 + 1.0 / step : (r + 1) * 100.0 / step + (step % 3);
            const QJsonObject line{{"step", step}, {"time", 0.25 * step * (r + 1)}, {"loss", loss}};
            metrics.write(QJsonDocument(line).toJson(QJsonDocument::Compact) + '\n');
        }
    }
    return root;
}

namespace {

QListWidgetItem* itemFor(TrainingView& view, const QString& runDir) {
    for (int i = 0; i < view.runList()->count(); ++i)
        if (view.runList()->item(i)->data(Qt::UserRole).toString() == runDir)
            return view.runList()->item(i);
    return nullptr;
}

QSet<QString> tickedRuns(TrainingView& view) {
    QSet<QString> dirs;
    for (int i = 0; i < view.runList()->count(); ++i)
        if (view.runList()->item(i)->checkState() == Qt::Checked)
            dirs.insert(view.runList()->item(i)->data(Qt::UserRole).toString());
    return dirs;
}

QVector<QPointF> points(const QCPGraph* graph) {
    QVector<QPointF> out;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
        out << QPointF(it->key, it->value);
    return out;
}

// The title above a run's panel: small multiples put it in the cell beside the axis rect.
QCPTextElement* panelTitle(const QCPGraph* graph) {
    auto* cell = qobject_cast<QCPLayoutGrid*>(graph->keyAxis()->axisRect()->layout());
    return cell ? qobject_cast<QCPTextElement*>(cell->element(0, 0)) : nullptr;
}

void chooseLayout(TrainingView& view, const char* layout) {
    const int index = view.layoutCombo()->findData(QString::fromLatin1(layout));
    QVERIFY(index >= 0);
    view.layoutCombo()->setCurrentIndex(index);
}

}  // namespace

void TestTrainingView::fillForm(TrainingView& view, int steps, const QString& options) {
    view.familyCombo()->setCurrentIndex(view.familyCombo()->findData(QStringLiteral("vae")));
    view.datasetCombo()->setCurrentText(m_images);
    view.stepsSpin()->setValue(steps);
    view.batchSpin()->setValue(8);
    view.optionsEdit()->setText(options);
}

void TestTrainingView::twentyStepRunFromTheForm() {
    TrainingView view;
    view.resize(1100, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setRunsDirectory(m_runs);
    QCOMPARE(view.runList()->count(), 0);
    fillForm(view, 20, QStringLiteral("hidden=8 latent=4"));

    QSignalSpy finished(&view, &TrainingView::runFinished);
    QSignalSpy checkpoint(&view, &TrainingView::checkpointAvailable);
    QTest::mouseClick(view.startButton(), Qt::LeftButton);
    QVERIFY(view.isTraining());
    QVERIFY(!view.startButton()->isEnabled());
    QVERIFY(view.stopButton()->isEnabled());
    QCOMPARE(view.runList()->count(), 1);
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.first().first().toString(), QStringLiteral("finished"));
    // The report comes as the thread winds down; the form opens once it has.
    QTRY_VERIFY(!view.isTraining());
    QTRY_VERIFY(view.startButton()->isEnabled());

    QCOMPARE(view.progressBar()->value(), 20);
    QCOMPARE(view.progressBar()->maximum(), 20);
    const le::RunRecord run = view.runs().first();
    QCOMPARE(run.status, QStringLiteral("finished"));
    QCOMPARE(run.losses.size(), 20);
    QCOMPARE(view.graphFor(run.dir)->dataCount(), 20);
    QVERIFY(!view.snapshotView()->image().isNull());
    QVERIFY(QFileInfo::exists(QDir(run.dir).filePath("metrics.jsonl")));
    QVERIFY(QFileInfo::exists(QDir(run.dir).filePath("run.json")));
    QCOMPARE(run.checkpointPath, QDir(run.dir).filePath("model.lec"));
    const le::CheckpointHeader header = le::readCheckpointHeader(run.checkpointPath);
    QCOMPARE(header.family, QStringLiteral("vae"));
    QCOMPARE(header.steps, qint64(20));
    QCOMPARE(QString::fromStdString(header.config.getString("latent", "")), QStringLiteral("4"));

    // The finished run reaches the catalog, and opens with one click.
    QCOMPARE(checkpoint.count(), 1);
    QCOMPARE(checkpoint.first().at(1).toBool(), false);
    QVERIFY(view.openButton()->isEnabled());
    QTest::mouseClick(view.openButton(), Qt::LeftButton);
    QCOMPARE(checkpoint.count(), 2);
    QCOMPARE(checkpoint.last().at(0).toString(), run.checkpointPath);
    QCOMPARE(checkpoint.last().at(1).toBool(), true);
    QCOMPARE(view.runCheckpoints(), QStringList{run.checkpointPath});

    // Wall-time axis and smoothing redraw the same points.
    view.axisCombo()->setCurrentIndex(1);
    QCOMPARE(view.lossPlot()->xAxis->label(), QStringLiteral("wall time (s)"));
    QCOMPARE(view.graphFor(run.dir)->dataCount(), 20);
}

void TestTrainingView::runsAreListedAgainAfterARestart() {
    TrainingView view;
    view.show();
    view.setRunsDirectory(m_runs);
    QCOMPARE(view.runList()->count(), 1);
    const le::RunRecord run = view.runs().first();
    QCOMPARE(run.status, QStringLiteral("finished"));
    QCOMPARE(run.spec.steps, qint64(20));
    QCOMPARE(run.spec.options, QStringLiteral("hidden=8 latent=4"));
    QCOMPARE(view.graphFor(run.dir)->dataCount(), 20);
    QVERIFY(!run.snapshotPath.isEmpty());
    QVERIFY(view.openButton()->isEnabled());
}

void TestTrainingView::pauseResumeAndStopKeepACheckpoint() {
    TrainingView view;
    view.show();
    view.setRunsDirectory(m_runs);
    fillForm(view, 1000000, QStringLiteral("hidden=8 latent=4"));
    QSignalSpy finished(&view, &TrainingView::runFinished);
    view.start();
    QTRY_VERIFY_WITH_TIMEOUT(view.progressBar()->value() > 5, 60000);
    QTest::mouseClick(view.pauseButton(), Qt::LeftButton);
    QCOMPARE(view.pauseButton()->text(), QStringLiteral("Resume"));
    QTest::mouseClick(view.pauseButton(), Qt::LeftButton);
    QCOMPARE(view.pauseButton()->text(), QStringLiteral("Pause"));
    QTest::mouseClick(view.stopButton(), Qt::LeftButton);
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.first().first().toString(), QStringLiteral("cancelled"));
    const le::RunRecord run = view.runs().last();
    QCOMPARE(run.status, QStringLiteral("cancelled"));
    QVERIFY(!run.checkpointPath.isEmpty());
    QVERIFY(le::readCheckpointHeader(run.checkpointPath).steps > 5);
}

void TestTrainingView::badModelOptionFailsWithItsName() {
    TrainingView view;
    view.show();
    view.setRunsDirectory(m_runs);
    fillForm(view, 20, QStringLiteral("hidden"));
    QSignalSpy finished(&view, &TrainingView::runFinished);
    view.start();
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.first().first().toString(), QStringLiteral("failed"));
    QVERIFY2(view.statusText().contains(QStringLiteral("hidden")), qPrintable(view.statusText()));
    QVERIFY(view.runs().last().checkpointPath.isEmpty());
}

// A β of 1e300 (a finite double, but infinite once it scales the float KL) makes the first step's
// loss non-finite: the run must stop there, say so in red naming the metric, be listed and kept on
// disk as diverged, leave no half-written checkpoint, and give the form back. (Restoring the last
// good weights after good steps is tst_trainer's.)
void TestTrainingView::nanStopsTheRunWithAClearMessage() {
    TrainingView view;
    view.show();
    view.setRunsDirectory(m_runs);
    fillForm(view, 200, QStringLiteral("hidden=8 latent=4 beta=1e300"));
    QSignalSpy finished(&view, &TrainingView::runFinished);
    QSignalSpy checkpoint(&view, &TrainingView::checkpointAvailable);
    QTest::mouseClick(view.startButton(), Qt::LeftButton);
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.first().first().toString(), QStringLiteral("diverged"));

    const QString status = view.statusText();
    QVERIFY2(status.contains(QStringLiteral("diverged at step 1")), qPrintable(status));
    QVERIFY2(status.contains(QStringLiteral("not finite")), qPrintable(status));
    QVERIFY2(view.findChild<QLabel*>() != nullptr, "the status is a label");
    bool red = false;
    for (const QLabel* label : view.findChildren<QLabel*>())
        if (label->text() == status) red = label->styleSheet().contains(QStringLiteral("#b3261e"));
    QVERIFY2(red, "a diverged run is reported as an error");

    // By its options, not its place in the list: runs started within one second sort by name.
    le::RunRecord run;
    for (const le::RunRecord& r : view.runs())
        if (r.spec.options.contains(QStringLiteral("beta=1e300"))) run = r;
    QCOMPARE(run.status, QStringLiteral("diverged"));
    QVERIFY(run.checkpointPath.isEmpty());
    QCOMPARE(checkpoint.count(), 0);
    QVERIFY(!QFileInfo::exists(QDir(run.dir).filePath("model.lec")));
    QCOMPARE(le::readRun(run.dir).status, QStringLiteral("diverged"));
    bool listed = false;
    for (int i = 0; i < view.runList()->count(); ++i)
        listed |= view.runList()->item(i)->text().contains(QStringLiteral("diverged"));
    QVERIFY(listed);
    QTRY_VERIFY(!view.isTraining());
    QTRY_VERIFY(view.startButton()->isEnabled());
}

// Three ticked runs: overlaid they share one axis rect and a legend; as small multiples each has
// its own rect, titled in its colour, with the very points the overlaid curve had, on one shared
// scale; unticking a run takes its panel away; the choice is remembered, and switching back gives
// the single plot again.
void TestTrainingView::smallMultiplesShowEachTickedRunInItsOwnPanel() {
    const QString runsDir = writeRuns(QStringLiteral("runs-multiples"), 3);
    TrainingView view;
    view.resize(1100, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setRunsDirectory(runsDir);
    QCOMPARE(view.runs().size(), 3);
    QCustomPlot* plot = view.lossPlot();
    QCOMPARE(view.layoutCombo()->currentData().toString(), QStringLiteral("overlaid"));
    QCOMPARE(plot->axisRectCount(), 1);
    QCOMPARE(view.curvePanelCount(), 1);
    QCOMPARE(plot->legend->itemCount(), 3);

    QMap<QString, QVector<QPointF>> overlaid;
    QMap<QString, QColor> colours;
    for (const le::RunRecord& run : view.runs()) {
        QCOMPARE(view.graphFor(run.dir)->keyAxis()->axisRect(), plot->axisRect());
        overlaid[run.dir] = points(view.graphFor(run.dir));
        colours[run.dir] = view.graphFor(run.dir)->pen().color();
        QCOMPARE(overlaid[run.dir].size(), run.losses.size());
    }

    chooseLayout(view, "small_multiples");
    plot->replot();  // drawn, not only laid out
    QVERIFY(view.showsSmallMultiples());
    QCOMPARE(plot->axisRectCount(), 3);
    QCOMPARE(view.curvePanelCount(), 3);
    QVERIFY(!plot->legend->realVisibility());
    QSet<QCPAxisRect*> rects;
    for (const le::RunRecord& run : view.runs()) {
        const QCPGraph* graph = view.graphFor(run.dir);
        QVERIFY(graph->visible());
        QCPAxisRect* rect = graph->keyAxis()->axisRect();
        QVERIFY(plot->axisRects().contains(rect));
        QCOMPARE(rect->graphs().size(), 1);
        QVERIFY(rect->graphs().first() == graph);
        rects.insert(rect);
        QCOMPARE(points(graph), overlaid[run.dir]);
        QCPTextElement* title = panelTitle(graph);
        QVERIFY(title);
        QCOMPARE(title->text(), run.spec.title());
        QCOMPARE(title->textColor(), colours[run.dir]);
        bool found = false;
        const QCPRange values = graph->getValueRange(found);
        QVERIFY(found);
        QVERIFY(rect->axis(QCPAxis::atLeft)->range().contains(values.lower));
        QVERIFY(rect->axis(QCPAxis::atLeft)->range().contains(values.upper));
    }
    QCOMPARE(rects.size(), 3);
    // The same scales where runs compare: steps for all, the loss between the two VAE runs (the
    // DCGAN's loss is on a scale of its own, not flattened by theirs).
    const auto range = [&view](const le::RunRecord& run, QCPAxis::AxisType type) {
        return view.graphFor(run.dir)->keyAxis()->axisRect()->axis(type)->range();
    };
    const le::RunRecord vae = view.runs().at(0), dcgan = view.runs().at(1),
                        vae2 = view.runs().at(2);
    QCOMPARE(dcgan.spec.family, QStringLiteral("dcgan"));
    QCOMPARE(range(vae2, QCPAxis::atLeft).upper, range(vae, QCPAxis::atLeft).upper);
    QCOMPARE(range(vae2, QCPAxis::atLeft).lower, range(vae, QCPAxis::atLeft).lower);
    QVERIFY(range(dcgan, QCPAxis::atLeft).upper < 3);
    for (const le::RunRecord& run : {vae, dcgan}) {
        QCOMPARE(range(run, QCPAxis::atBottom).lower, range(vae2, QCPAxis::atBottom).lower);
        QCOMPARE(range(run, QCPAxis::atBottom).upper, range(vae2, QCPAxis::atBottom).upper);
    }
    QVERIFY(TrainingView().showsSmallMultiples());  // remembered for the next session

    // The wall-time axis and smoothing apply to every panel.
    const le::RunRecord first = view.runs().first();
    view.axisCombo()->setCurrentIndex(view.axisCombo()->findData(QStringLiteral("wall_time")));
    view.smoothingSlider()->setValue(0);
    QCOMPARE(view.graphFor(first.dir)->keyAxis()->label(), QStringLiteral("wall time (s)"));
    QCOMPARE(points(view.graphFor(first.dir)).first(),
             QPointF(first.losses.first().seconds, first.losses.first().loss));
    QCOMPARE(points(view.graphFor(first.dir)).last(),
             QPointF(first.losses.last().seconds, first.losses.last().loss));
    view.axisCombo()->setCurrentIndex(view.axisCombo()->findData(QStringLiteral("step")));
    for (const le::RunRecord& run : view.runs()) overlaid[run.dir] = points(view.graphFor(run.dir));

    const QString gone = view.runs().at(1).dir;
    itemFor(view, gone)->setCheckState(Qt::Unchecked);
    plot->replot();
    QCOMPARE(plot->axisRectCount(), 2);
    QCOMPARE(view.curvePanelCount(), 2);
    for (const QCPAxisRect* rect : plot->axisRects())
        for (const QCPGraph* graph : rect->graphs()) QVERIFY(graph != view.graphFor(gone));
    for (const le::RunRecord& run : view.runs())
        if (run.dir != gone) QCOMPARE(panelTitle(view.graphFor(run.dir))->text(), run.spec.title());

    chooseLayout(view, "overlaid");
    plot->replot();
    QVERIFY(!view.showsSmallMultiples());
    QCOMPARE(plot->axisRectCount(), 1);
    QCOMPARE(view.curvePanelCount(), 1);
    QVERIFY(plot->legend->realVisibility());
    QCOMPARE(plot->legend->itemCount(), 2);
    for (const le::RunRecord& run : view.runs()) {
        QCOMPARE(view.graphFor(run.dir)->keyAxis()->axisRect(), plot->axisRect());
        QCOMPARE(view.graphFor(run.dir)->visible(), run.dir != gone);
        QCOMPARE(points(view.graphFor(run.dir)), overlaid[run.dir]);
    }
    QVERIFY(!TrainingView().showsSmallMultiples());
}

// Everything the tab keeps in a workspace comes back in a fresh view over the same runs, whose
// controls were set otherwise first; restoring starts no run. Keys that are missing change nothing.
void TestTrainingView::workspaceStateComesBackInAFreshView() {
    const QString runsDir = writeRuns(QStringLiteral("runs-workspace"), 3);
    const le::WorkspaceContext saving(m_tmp.filePath(QStringLiteral("lesson.lew")));
    QJsonObject state;
    QSet<QString> ticked;
    QString selected;
    {
        TrainingView view;
        view.setRunsDirectory(runsDir);
        view.familyCombo()->setCurrentIndex(view.familyCombo()->findData(QStringLiteral("glow")));
        view.datasetCombo()->setCurrentText(QStringLiteral("faces64"));
        view.latentSpin()->setValue(24);
        view.stepsSpin()->setValue(321);
        view.batchSpin()->setValue(17);
        view.learningRateSpin()->setValue(0.0025);
        view.seedSpin()->setValue(77);
        view.deviceCombo()->setCurrentText(QStringLiteral("cpu"));
        view.optionsEdit()->setText(QStringLiteral("hidden=12 levels=2"));
        view.axisCombo()->setCurrentIndex(view.axisCombo()->findData(QStringLiteral("wall_time")));
        view.smoothingSlider()->setValue(15);
        chooseLayout(view, "small_multiples");
        itemFor(view, view.runs().at(0).dir)->setCheckState(Qt::Unchecked);
        view.runList()->setCurrentItem(itemFor(view, view.runs().at(1).dir));
        ticked = tickedRuns(view);
        selected = view.runs().at(1).dir;
        QCOMPARE(ticked.size(), 2);
        state = view.workspaceState(saving);
    }
    QCOMPARE(state.value(QStringLiteral("family")).toString(), QStringLiteral("glow"));
    QCOMPARE(state.value(QStringLiteral("layout")).toString(), QStringLiteral("small_multiples"));
    QCOMPARE(state.value(QStringLiteral("ticked_runs")).toArray().size(), 2);

    TrainingView fresh;
    fresh.setRunsDirectory(runsDir);
    fresh.familyCombo()->setCurrentIndex(fresh.familyCombo()->findData(QStringLiteral("vae")));
    fresh.datasetCombo()->setCurrentText(QStringLiteral("faces"));
    fresh.latentSpin()->setValue(8);
    fresh.stepsSpin()->setValue(5);
    fresh.batchSpin()->setValue(3);
    fresh.learningRateSpin()->setValue(0.1);
    fresh.seedSpin()->setValue(5);
    fresh.deviceCombo()->setCurrentText(QStringLiteral("auto"));
    fresh.optionsEdit()->setText(QStringLiteral("beta=2"));
    fresh.axisCombo()->setCurrentIndex(fresh.axisCombo()->findData(QStringLiteral("step")));
    fresh.smoothingSlider()->setValue(80);
    chooseLayout(fresh, "overlaid");
    QCOMPARE(tickedRuns(fresh).size(), 3);
    QVERIFY(fresh.runList()->currentItem()->data(Qt::UserRole).toString() != selected);

    le::WorkspaceContext opening(m_tmp.filePath(QStringLiteral("lesson.lew")));
    fresh.restoreWorkspaceState(state, opening);
    QVERIFY2(opening.warnings().isEmpty(), qPrintable(opening.warnings().join('\n')));
    QCOMPARE(fresh.familyCombo()->currentData().toString(), QStringLiteral("glow"));
    QCOMPARE(fresh.datasetCombo()->currentText(), QStringLiteral("faces64"));
    QCOMPARE(fresh.latentSpin()->value(), 24);
    QCOMPARE(fresh.stepsSpin()->value(), 321);
    QCOMPARE(fresh.batchSpin()->value(), 17);
    QCOMPARE(fresh.learningRateSpin()->value(), 0.0025);
    QCOMPARE(fresh.seedSpin()->value(), 77);
    QCOMPARE(fresh.deviceCombo()->currentText(), QStringLiteral("cpu"));
    QCOMPARE(fresh.optionsEdit()->text(), QStringLiteral("hidden=12 levels=2"));
    QCOMPARE(fresh.axisCombo()->currentData().toString(), QStringLiteral("wall_time"));
    QCOMPARE(fresh.smoothingSlider()->value(), 15);
    QVERIFY(fresh.showsSmallMultiples());
    QCOMPARE(tickedRuns(fresh), ticked);
    QCOMPARE(fresh.curvePanelCount(), 2);
    QCOMPARE(fresh.runList()->currentItem()->data(Qt::UserRole).toString(), selected);
    QCOMPARE(fresh.workspaceState(saving), state);  // the rest of the form too
    QVERIFY(!fresh.isTraining());
    QCOMPARE(fresh.runs().size(), 3);

    fresh.restoreWorkspaceState(QJsonObject{}, opening);
    QCOMPARE(fresh.workspaceState(saving), state);
    QVERIFY(opening.warnings().isEmpty());
}

// A workspace ticks three runs, one of which has since been deleted: one warning naming it, and the
// other two ticked and the selection restored all the same.
void TestTrainingView::aDeletedTickedRunIsOneWarning() {
    const QString runsDir = writeRuns(QStringLiteral("runs-deleted"), 3);
    const le::WorkspaceContext saving(m_tmp.filePath(QStringLiteral("deleted.lew")));
    QJsonObject state;
    QString deleted, selected;
    {
        TrainingView view;
        view.setRunsDirectory(runsDir);
        chooseLayout(view, "small_multiples");
        deleted = view.runs().at(2).dir;
        selected = view.runs().at(0).dir;
        view.runList()->setCurrentItem(itemFor(view, selected));
        QCOMPARE(tickedRuns(view).size(), 3);
        state = view.workspaceState(saving);
    }
    QVERIFY(QDir(deleted).removeRecursively());

    TrainingView fresh;
    fresh.setRunsDirectory(runsDir);
    QCOMPARE(fresh.runs().size(), 2);
    for (int i = 0; i < fresh.runList()->count(); ++i)
        fresh.runList()->item(i)->setCheckState(Qt::Unchecked);
    chooseLayout(fresh, "overlaid");
    le::WorkspaceContext opening(m_tmp.filePath(QStringLiteral("deleted.lew")));
    fresh.restoreWorkspaceState(state, opening);
    QCOMPARE(opening.warnings().size(), 1);
    QVERIFY2(opening.warnings().first().contains(QFileInfo(deleted).fileName()),
             qPrintable(opening.warnings().first()));
    QCOMPARE(tickedRuns(fresh), (QSet<QString>{fresh.runs().at(0).dir, fresh.runs().at(1).dir}));
    QCOMPARE(fresh.runList()->currentItem()->data(Qt::UserRole).toString(), selected);
    QVERIFY(fresh.showsSmallMultiples());
    QCOMPARE(fresh.curvePanelCount(), 2);
    chooseLayout(fresh, "overlaid");
}

QTEST_MAIN(TestTrainingView)
#include "tst_training_view.moc"
