// The Training tab: a 20-step run of a tiny VAE started from the form on a folder of generated
// images trains in the background, shows progress, curves and snapshots, keeps its folder
// (run.json, metrics.jsonl, model.lec) and is listed again, curve and all, by a new view over
// the same runs folder; its checkpoint opens with one click. A long run pauses, resumes and stops
// keeping a checkpoint; a bad model option fails with a message naming it.

#include "checkpoint.h"
#include "image_io.h"
#include "image_view.h"
#include "training_view.h"

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
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

private:
    void fillForm(TrainingView& view, int steps, const QString& options);

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
}

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
    QVERIFY(!view.isTraining());
    QVERIFY(view.startButton()->isEnabled());

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
    QVERIFY(!view.isTraining());
    QVERIFY(view.startButton()->isEnabled());
}

QTEST_MAIN(TestTrainingView)
#include "tst_training_view.moc"
