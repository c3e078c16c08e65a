// LatentMapView without a model: a synthetic map, mouse drags on the plot, sliders, and the
// stale-result and error rules; recording a drag and exporting it as MP4. Then with the shipped
// Fashion-MNIST VAE in a real worker: the likelihood meter scoring what is on screen under the
// shipped Glow and PixelCNN.

#include "ui/views/latent_map_view.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/likelihood_meter_widget.h"

#include <QDir>
#include <QFileInfo>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <qcustomplot.h>

#include <cmath>

using le::DecodeResult;
using le::LatentMap;
using le::LatentMapView;

namespace {

constexpr int kDim = 4;

// A 4-D latent space whose principal directions are the axes, scaled 2, 1, 0.5, 0.25.
LatentMap syntheticMap() {
    LatentMap map;
    map.classNames = {QStringLiteral("circle"), QStringLiteral("square"), QStringLiteral("star")};
    map.mean = {1.0f, -1.0f, 0.5f, 0.0f};
    const float sd[kDim] = {2.0f, 1.0f, 0.5f, 0.25f};
    float total = 0;
    for (float s : sd) total += s * s;
    for (int i = 0; i < kDim; ++i) {
        QVector<float> c(kDim, 0.0f);
        c[i] = 1.0f;
        map.components.push_back(c);
        map.stddev.push_back(sd[i]);
        map.explained.push_back(sd[i] * sd[i] / total);
    }
    for (int i = 0; i < 300; ++i) {
        map.x.push_back(4.0f * std::sin(i * 0.37f));
        map.y.push_back(2.0f * std::cos(i * 0.91f));
        map.labels.push_back(i % 3);
    }
    return map;
}

le::ModelInfo syntheticInfo() {
    le::ModelInfo info;
    info.family = QStringLiteral("vae");
    info.dataset = QStringLiteral("synthetic");
    info.device = QStringLiteral("cpu");
    info.latentDim = kDim;
    return info;
}

cv::Mat solidImage(uchar value) {
    return cv::Mat(8, 8, CV_8UC1, cv::Scalar(value));
}

DecodeResult result(quint64 id, uchar value) {
    DecodeResult r;
    r.id = id;
    r.image = solidImage(value);
    r.decodeMs = 1.0;
    return r;
}

QPoint pixelFor(QCustomPlot* plot, double x, double y) {
    return QPoint(qRound(plot->xAxis->coordToPixel(x)), qRound(plot->yAxis->coordToPixel(y)));
}

// QTest::mouseMove carries no buttons for widgets; a drag needs the left button held.
void dragTo(QWidget* widget, const QPoint& pos) {
    QMouseEvent move(QEvent::MouseMove, pos, widget->mapToGlobal(pos), Qt::NoButton, Qt::LeftButton,
                     Qt::NoModifier);
    QApplication::sendEvent(widget, &move);
}

QString pretrained(const QString& file) {
    return QDir(qEnvironmentVariable("LE_SOURCE_DIR")).filePath("models/pretrained/" + file);
}

struct VideoInfo {
    int frames = 0;
    int width = 0, height = 0;
    std::vector<double> meanGrey;  // per frame
};

VideoInfo readVideo(const QString& path) {
    VideoInfo info;
    cv::VideoCapture capture(QFile::encodeName(path).toStdString(), cv::CAP_FFMPEG);
    if (!capture.isOpened()) return info;
    cv::Mat frame;
    while (capture.read(frame)) {
        ++info.frames;
        info.width = frame.cols;
        info.height = frame.rows;
        cv::Mat grey;
        cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
        info.meanGrey.push_back(cv::mean(grey)[0]);
    }
    return info;
}

le::ScoreResult scores(quint64 id, double bpd) {
    le::ScoreResult r;
    r.id = id;
    le::LikelihoodScore row;
    row.family = QStringLiteral("glow");
    row.title = QStringLiteral("Glow");
    row.exact = true;
    row.bpd = bpd;
    row.fresh = true;
    row.bandLow = 3.0;
    row.bandMedian = 3.5;
    row.bandHigh = 4.0;
    row.bandImages = 200;
    row.bandComplete = true;
    r.scores.push_back(row);
    return r;
}

QVector<float> latentOf(const QList<QVariant>& emission) {
    return emission.at(1).value<QVector<float>>();
}

void compareLatent(const QVector<float>& actual, const QVector<float>& expected, float tol) {
    QCOMPARE(actual.size(), expected.size());
    for (int i = 0; i < actual.size(); ++i)
        QVERIFY2(
            std::abs(actual[i] - expected[i]) <= tol,
            qPrintable(
                QStringLiteral("component %1: %2 vs %3").arg(i).arg(actual[i]).arg(expected[i])));
}

}  // namespace

class TestLatentMapView : public QObject {
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void setModelBuildsScatterAndSliders();
    void setModelRequestsTheMean();
    void pressAndDragMoveTheCursor();
    void dragDoesNotPanThePlot();
    void pressOutsideAxisRectIsIgnored();
    void slidersFollowTheCursor();
    void movingASliderChangesTheLatent();
    void resetCentresTheCursor();
    void staleResultsAreDropped();
    void errorKeepsTheLastImage();
    void newModelDropsResultsForTheOldOne();
    void scoresOnlyForTheImageOnScreen();
    void meterColoursOffTheBand();
    void recordADragAndExportIt();
    void recordShortcutAndStatus();
    void exportFailsCleanly();
    void meterScoresTheShippedModels();

private:
    LatentMapView* m_view = nullptr;
    QSignalSpy* m_spy = nullptr;
};

void TestLatentMapView::init() {
    m_view = new LatentMapView;
    m_view->resize(1000, 640);
    m_view->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_view));
    m_spy = new QSignalSpy(m_view, &LatentMapView::decodeRequested);
    m_view->setModel(syntheticInfo(), syntheticMap());
    m_view->plot()->replot();  // pixel <-> coordinate mapping needs a laid-out plot
}

void TestLatentMapView::cleanup() {
    delete m_spy;
    delete m_view;
    m_spy = nullptr;
    m_view = nullptr;
}

void TestLatentMapView::setModelBuildsScatterAndSliders() {
    QCustomPlot* plot = m_view->plot();
    // One graph per class plus the cursor; the legend names the classes.
    QCOMPARE(plot->graphCount(), 4);
    QCOMPARE(plot->legend->itemCount(), 3);
    QCOMPARE(plot->graph(0)->name(), QStringLiteral("circle"));
    QCOMPARE(
        plot->graph(0)->dataCount() + plot->graph(1)->dataCount() + plot->graph(2)->dataCount(),
        300);
    QVERIFY(plot->graph(0)->scatterStyle().brush().color() !=
            plot->graph(1)->scatterStyle().brush().color());
    QCOMPARE(m_view->sliderCount(), kDim);
    QVERIFY(m_view->slider(kDim) == nullptr);
    QVERIFY(plot->xAxis->label().startsWith(QStringLiteral("PC1 (")));
    QVERIFY(!m_view->slider(0)->toolTip().isEmpty());
    QVERIFY(!m_view->resetButton()->toolTip().isEmpty());
}

void TestLatentMapView::setModelRequestsTheMean() {
    QCOMPARE(m_spy->count(), 1);
    QCOMPARE(m_spy->at(0).at(0).toULongLong(), quint64(1));
    compareLatent(latentOf(m_spy->at(0)), syntheticMap().mean, 1e-6f);
    QCOMPARE(m_view->cursorPosition(), QPointF(0, 0));
}

void TestLatentMapView::pressAndDragMoveTheCursor() {
    QCustomPlot* plot = m_view->plot();
    m_spy->clear();

    QTest::mousePress(plot, Qt::LeftButton, {}, pixelFor(plot, 2.0, 1.0));
    QVERIFY(std::abs(m_view->cursorPosition().x() - 2.0) < 0.05);
    QVERIFY(std::abs(m_view->cursorPosition().y() - 1.0) < 0.05);

    dragTo(plot, pixelFor(plot, -1.5, -0.5));
    QVERIFY(std::abs(m_view->cursorPosition().x() + 1.5) < 0.05);
    QVERIFY(std::abs(m_view->cursorPosition().y() + 0.5) < 0.05);
    QTest::mouseRelease(plot, Qt::LeftButton, {}, pixelFor(plot, -1.5, -0.5));

    // A move without the button held is not a drag.
    QMouseEvent hover(QEvent::MouseMove, QPointF(pixelFor(plot, 3, 1.5)),
                      QPointF(plot->mapToGlobal(pixelFor(plot, 3, 1.5))), Qt::NoButton,
                      Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(plot, &hover);
    QVERIFY(std::abs(m_view->cursorPosition().x() + 1.5) < 0.05);

    QCOMPARE(m_spy->count(), 2);
    const quint64 first = m_spy->at(0).at(0).toULongLong();
    const quint64 second = m_spy->at(1).at(0).toULongLong();
    QVERIFY(first > 1);
    QVERIFY(second > first);
    QCOMPARE(m_view->lastRequestId(), second);

    // Components are the axes: z = mean + (x, y, 0, 0).
    const QPointF c = m_view->cursorPosition();
    const QVector<float> mean = syntheticMap().mean;
    compareLatent(latentOf(m_spy->at(1)),
                  {mean[0] + float(c.x()), mean[1] + float(c.y()), mean[2], mean[3]}, 1e-5f);
    QCOMPARE(plot->graph(3)->dataCount(), 1);
    QCOMPARE(plot->graph(3)->data()->begin()->key, c.x());
}

void TestLatentMapView::dragDoesNotPanThePlot() {
    QCustomPlot* plot = m_view->plot();
    const QCPRange before = plot->xAxis->range();
    QTest::mousePress(plot, Qt::LeftButton, {}, pixelFor(plot, 0, 0));
    dragTo(plot, pixelFor(plot, 2, 1));
    QTest::mouseRelease(plot, Qt::LeftButton, {}, pixelFor(plot, 2, 1));
    QCOMPARE(plot->xAxis->range().lower, before.lower);
    QCOMPARE(plot->xAxis->range().upper, before.upper);
    QVERIFY(plot->interactions().testFlag(QCP::iRangeZoom));
}

void TestLatentMapView::pressOutsideAxisRectIsIgnored() {
    QCustomPlot* plot = m_view->plot();
    m_spy->clear();
    const QRect axisRect = plot->axisRect()->rect();
    QTest::mousePress(plot, Qt::LeftButton, {}, QPoint(axisRect.left() / 2, axisRect.center().y()));
    QCOMPARE(m_spy->count(), 0);
    QCOMPARE(m_view->cursorPosition(), QPointF(0, 0));
}

void TestLatentMapView::slidersFollowTheCursor() {
    m_spy->clear();
    m_view->setCursorPosition(QPointF(3.0, -0.5));  // 1.5 sd along PC1, -0.5 sd along PC2
    QCOMPARE(m_spy->count(), 1);                    // the sliders' sync emits nothing of its own
    QCOMPARE(m_view->slider(0)->value(), 150);
    QCOMPARE(m_view->slider(1)->value(), -50);
    QCOMPARE(m_view->slider(2)->value(), 0);

    // Beyond the slider's ±3 sd the slider pins while the cursor keeps its place.
    m_view->setCursorPosition(QPointF(10.0, 0.0));
    QCOMPARE(m_view->slider(0)->value(), 300);
    QCOMPARE(m_view->cursorPosition().x(), 10.0);
}

void TestLatentMapView::movingASliderChangesTheLatent() {
    m_spy->clear();
    m_view->slider(2)->setValue(200);  // +2 sd of 0.5 along the third axis
    QCOMPARE(m_spy->count(), 1);
    const QVector<float> mean = syntheticMap().mean;
    compareLatent(latentOf(m_spy->at(0)), {mean[0], mean[1], mean[2] + 1.0f, mean[3]}, 1e-5f);

    m_view->slider(0)->setValue(-100);  // -1 sd of 2 along PC1: moves the cursor too
    QCOMPARE(m_spy->count(), 2);
    QCOMPARE(m_view->cursorPosition().x(), -2.0);
    compareLatent(latentOf(m_spy->at(1)), {mean[0] - 2.0f, mean[1], mean[2] + 1.0f, mean[3]},
                  1e-5f);
    QVERIFY(m_spy->at(1).at(0).toULongLong() > m_spy->at(0).at(0).toULongLong());
    QCOMPARE(m_view->plot()->graph(3)->data()->begin()->key, -2.0);
}

void TestLatentMapView::resetCentresTheCursor() {
    m_view->setCursorPosition(QPointF(1.0, 1.0));
    m_view->slider(3)->setValue(100);
    m_spy->clear();
    m_view->activateWindow();  // shortcuts fire only in the active window
    QVERIFY(QTest::qWaitForWindowActive(m_view));
    QTest::keyClick(m_view, Qt::Key_R, Qt::ControlModifier);
    QTRY_COMPARE(m_spy->count(), 1);  // a button's shortcut animates the click first
    QCOMPARE(m_view->cursorPosition(), QPointF(0, 0));
    QCOMPARE(m_view->slider(3)->value(), 0);
    compareLatent(latentOf(m_spy->at(0)), syntheticMap().mean, 1e-6f);
}

void TestLatentMapView::staleResultsAreDropped() {
    m_view->setCursorPosition(QPointF(1, 0));
    m_view->setCursorPosition(QPointF(2, 0));
    const quint64 newest = m_view->lastRequestId();
    QVERIFY(newest >= 3);

    QVERIFY(m_view->showResult(result(newest, 200)));
    QCOMPARE(m_view->currentImage().pixelColor(0, 0).red(), 200);
    // An answer to an older request arriving late must not replace the newer image.
    QVERIFY(!m_view->showResult(result(newest - 1, 50)));
    QCOMPARE(m_view->currentImage().pixelColor(0, 0).red(), 200);
    QCOMPARE(m_view->shownResultId(), newest);
    // Nor an id never requested.
    QVERIFY(!m_view->showResult(result(newest + 5, 10)));
    QCOMPARE(m_view->currentImage().pixelColor(0, 0).red(), 200);
}

void TestLatentMapView::errorKeepsTheLastImage() {
    m_view->setCursorPosition(QPointF(1, 0));
    QVERIFY(m_view->showResult(result(m_view->lastRequestId(), 120)));
    m_view->setCursorPosition(QPointF(1, 1));
    DecodeResult bad;
    bad.id = m_view->lastRequestId();
    bad.error = QStringLiteral("decoder exploded");
    QVERIFY(m_view->showResult(bad));
    QCOMPARE(m_view->errorText(), QStringLiteral("decoder exploded"));
    QVERIFY(!m_view->currentImage().isNull());
    QCOMPARE(m_view->currentImage().pixelColor(0, 0).red(), 120);
    QVERIFY(!m_view->grab().isNull());  // paints the overlay without trouble

    // The next good image clears the error.
    m_view->setCursorPosition(QPointF(0, 1));
    QVERIFY(m_view->showResult(result(m_view->lastRequestId(), 30)));
    QVERIFY(m_view->errorText().isEmpty());
    QCOMPARE(m_view->currentImage().pixelColor(0, 0).red(), 30);
}

void TestLatentMapView::newModelDropsResultsForTheOldOne() {
    const quint64 oldId = m_view->lastRequestId();
    m_view->setModel(syntheticInfo(), syntheticMap());
    QVERIFY(m_view->lastRequestId() > oldId);
    QVERIFY(!m_view->showResult(result(oldId, 90)));
    QVERIFY(m_view->currentImage().isNull());
    QVERIFY(m_view->showResult(result(m_view->lastRequestId(), 90)));
}

void TestLatentMapView::scoresOnlyForTheImageOnScreen() {
    le::LikelihoodMeterWidget* meter = m_view->likelihoodMeter();
    QCOMPARE(meter->rowCount(), 0);
    m_view->setCursorPosition(QPointF(1, 0));
    const quint64 first = m_view->lastRequestId();
    m_view->setCursorPosition(QPointF(2, 0));
    const quint64 second = m_view->lastRequestId();
    QVERIFY(m_view->showResult(result(first, 100)));
    QSignalSpy shown(m_view, &LatentMapView::scoresShown);

    // Scores of an image not (yet) shown are dropped: they would describe another picture.
    QVERIFY(!m_view->showScores(scores(second, 3.2)));
    QVERIFY(m_view->showScores(scores(first, 3.4)));
    QCOMPARE(meter->rowCount(), 1);
    QCOMPARE(meter->valueText(0), QStringLiteral("3.40"));
    QCOMPARE(shown.count(), 1);

    // Once the newer image is shown, the older scores are stale.
    QVERIFY(m_view->showResult(result(second, 110)));
    QVERIFY(!m_view->showScores(scores(first, 9.0)));
    QCOMPARE(meter->valueText(0), QStringLiteral("3.40"));
    QVERIFY(m_view->showScores(scores(second, 3.6)));
    QCOMPARE(meter->valueText(0), QStringLiteral("3.60"));
    QCOMPARE(m_view->shownScoresId(), second);
    // The same id again (the worker re-sends it when a band is measured) is taken.
    QVERIFY(m_view->showScores(scores(second, 3.6)));

    // A new model: scores for the old one are stale, and the meter starts empty.
    m_view->setModel(syntheticInfo(), syntheticMap());
    QCOMPARE(meter->rowCount(), 0);
    QVERIFY(!m_view->showScores(scores(second, 3.6)));
}

void TestLatentMapView::meterColoursOffTheBand() {
    m_view->setCursorPosition(QPointF(1, 0));
    QVERIFY(m_view->showResult(result(m_view->lastRequestId(), 100)));
    QSignalSpy ready(m_view, &LatentMapView::meterReady);
    le::LikelihoodMeterWidget* meter = m_view->likelihoodMeter();
    QVERIFY(m_view->showScores(scores(m_view->lastRequestId(), 3.5)));
    QCOMPARE(ready.count(), 1);  // bands complete: ready once per model
    QCOMPARE(meter->barColour(0), le::LikelihoodMeterWidget::insideColour());
    QVERIFY(m_view->showScores(scores(m_view->lastRequestId(), 5.2)));
    QCOMPARE(meter->barColour(0), le::LikelihoodMeterWidget::aboveColour());
    QCOMPARE(meter->row(0).sideOfBand(), 1);
    QVERIFY(m_view->showScores(scores(m_view->lastRequestId(), 2.1)));
    QCOMPARE(meter->barColour(0), le::LikelihoodMeterWidget::belowColour());
    QCOMPARE(ready.count(), 1);
    // The axis holds the band with room above it, and does not follow the value.
    QVERIFY(meter->axisMin() <= 3.0 && meter->axisMax() >= 5.0);
    QVERIFY(meter->footnote().contains(QStringLiteral("200")));
    QVERIFY(!meter->toolTip().isEmpty());
    QVERIFY(meter->toolTip().contains(QStringLiteral("lower = more likely")));
    QVERIFY(!m_view->grab().isNull());
}

void TestLatentMapView::recordADragAndExportIt() {
    // A stand-in decoder answers at once with a grey level that follows the cursor's x.
    connect(m_view, &LatentMapView::decodeRequested, m_view,
            [this](quint64 id, const QVector<float>& latent) {
                const double grey = std::clamp(128.0 + 25.0 * (latent[0] - 1.0), 0.0, 255.0);
                DecodeResult r;
                r.id = id;
                r.image = cv::Mat(16, 16, CV_8UC1, cv::Scalar(grey));
                m_view->showResult(r);
            });
    QCustomPlot* plot = m_view->plot();
    m_view->setCursorPosition(QPointF(-4, 0));  // dark at the start
    QVERIFY(!m_view->exportVideoButton()->isEnabled());

    QTest::mouseClick(m_view->recordButton(), Qt::LeftButton);
    QVERIFY(m_view->isRecording());
    QVERIFY(m_view->recordButton()->isChecked());
    QCOMPARE(m_view->recordedImageCount(), 1);  // the image on screen when it started
    QTest::qWait(300);
    QTest::mousePress(plot, Qt::LeftButton, {}, pixelFor(plot, -3, 0));
    for (int step = 0; step <= 10; ++step) {
        dragTo(plot, pixelFor(plot, -3 + 0.6 * step, 0.2 * std::sin(step)));
        QTest::qWait(30);
    }
    QTest::mouseRelease(plot, Qt::LeftButton, {}, pixelFor(plot, 3, 0));
    QTest::qWait(300);  // the last image is held
    QVERIFY(m_view->recordStatusText().contains(QStringLiteral("Recording")));
    QTest::mouseClick(m_view->recordButton(), Qt::LeftButton);
    QVERIFY(!m_view->isRecording());
    QVERIFY(m_view->exportVideoButton()->isEnabled());
    QVERIFY(m_view->recordedImageCount() >= 10);

    // Evenly timed: one frame per 1/25 s of the recording, whatever the decodes' rhythm.
    const std::vector<cv::Mat> frames = m_view->videoFrames();
    QCOMPARE(int(frames.size()),
             int(std::lround(m_view->recordedSeconds() * LatentMapView::kVideoFps)));
    QVERIFY(frames.size() >= 15);        // >= 0.6 s
    QCOMPARE(frames.front().cols, 256);  // 16 px scaled up to the 256 px floor
    QCOMPARE(frames.front().type(), CV_8UC3);
    // Held at the start before the drag (dark), and at the end after it (light).
    QVERIFY(frames[1].at<cv::Vec3b>(0, 0)[0] < 60);
    QVERIFY(frames[frames.size() - 2].at<cv::Vec3b>(0, 0)[0] > 170);
    QVERIFY(frames[3].data == frames[4].data);  // a held frame shares its pixels

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("drag.mp4"));
    QVERIFY2(m_view->exportVideo(path), qPrintable(m_view->recordStatusText()));
    QVERIFY(m_view->recordStatusText().contains(QStringLiteral("drag.mp4")));
    const VideoInfo video = readVideo(path);
    QVERIFY2(
        std::abs(video.frames - int(frames.size())) <= 1,
        qPrintable(QString("%1 frames read, %2 written").arg(video.frames).arg(frames.size())));
    QCOMPARE(video.width, 256);
    QCOMPARE(video.height, 256);
    QVERIFY(video.meanGrey.front() < 70);
    QVERIFY(video.meanGrey.back() > 160);
}

void TestLatentMapView::recordShortcutAndStatus() {
    m_view->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(m_view));
    QVERIFY(!m_view->recordButton()->toolTip().isEmpty());
    QVERIFY(!m_view->exportVideoButton()->toolTip().isEmpty());
    QTest::keyClick(m_view, Qt::Key_R, Qt::ControlModifier | Qt::ShiftModifier);
    QTRY_VERIFY(m_view->isRecording());
    m_view->setCursorPosition(QPointF(1, 1));
    QVERIFY(m_view->showResult(result(m_view->lastRequestId(), 77)));
    QCOMPARE(m_view->recordedImageCount(), 1);
    // The status counts frames and seconds while recording.
    QTRY_VERIFY(m_view->recordStatusText().contains(QStringLiteral(" s \u00b7 ")));
    QVERIFY(m_view->recordStatusText().contains(QStringLiteral("frames")));
    QTest::keyClick(m_view, Qt::Key_R, Qt::ControlModifier | Qt::ShiftModifier);
    QTRY_VERIFY(!m_view->isRecording());
    QVERIFY(m_view->recordStatusText().startsWith(QStringLiteral("Recorded")));

    // A new recording starts afresh.
    m_view->setRecording(true);
    QCOMPARE(m_view->recordedImageCount(), 1);  // the image on screen
    m_view->setRecording(false);
}

void TestLatentMapView::exportFailsCleanly() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // Nothing recorded yet.
    const QString first = dir.filePath(QStringLiteral("empty.mp4"));
    QVERIFY(!m_view->exportVideo(first));
    QVERIFY(m_view->recordStatusText().contains(QStringLiteral("nothing recorded")));
    QVERIFY(!QFileInfo::exists(first));

    m_view->setCursorPosition(QPointF(1, 0));
    QVERIFY(m_view->showResult(result(m_view->lastRequestId(), 90)));
    m_view->setRecording(true);
    QTest::qWait(120);
    m_view->setRecording(false);
    // A folder that does not exist cannot take the file: an error, and no file anywhere.
    const QString bad = dir.filePath(QStringLiteral("no/such/folder/drag.mp4"));
    QVERIFY(!m_view->exportVideo(bad));
    QVERIFY2(m_view->recordStatusText().contains(QStringLiteral("not writable")),
             qPrintable(m_view->recordStatusText()));
    QVERIFY(!QFileInfo::exists(bad));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 0);
    // The same recording still exports where it can.
    QVERIFY(m_view->exportVideo(dir.filePath(QStringLiteral("ok.mp4"))));
    QVERIFY(readVideo(dir.filePath(QStringLiteral("ok.mp4"))).frames > 0);
}

void TestLatentMapView::meterScoresTheShippedModels() {
    const QString vae = pretrained(QStringLiteral("vae_fashion-mnist.lec"));
    if (!QFileInfo::exists(vae)) QSKIP("the shipped checkpoints are not here");
    delete m_spy;
    m_spy = nullptr;
    delete m_view;
    m_view = nullptr;

    LatentMapView view;
    view.resize(1180, 680);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    le::WorkerThread thread;
    le::InteractiveWorker* worker = thread.worker();
    // As MainWindow wires them: requests to the worker, answers back queued.
    connect(&view, &LatentMapView::decodeRequested, &view,
            [worker](quint64 id, const QVector<float>& z) { worker->requestDecode(id, z); });
    connect(worker, &le::InteractiveWorker::modelLoaded, &view,
            [&view](const le::ModelInfo& info, const LatentMap& map) { view.setModel(info, map); });
    connect(worker, &le::InteractiveWorker::decoded, &view,
            [&view](const DecodeResult& r) { view.showResult(r); });
    connect(worker, &le::InteractiveWorker::scored, &view, &LatentMapView::showScores);
    QSignalSpy ready(&view, &LatentMapView::meterReady);
    worker->setScoringCheckpoints({pretrained(QStringLiteral("glow_fashion-mnist.lec")),
                                   pretrained(QStringLiteral("pixelcnn_fashion-mnist.lec"))});
    worker->requestLoad(vae, QStringLiteral("cpu"));
    QVERIFY(ready.wait(240000));  // loaded, decoded, scored, and every band measured

    le::LikelihoodMeterWidget* meter = view.likelihoodMeter();
    QCOMPARE(meter->rowCount(), 3);  // Glow, PixelCNN, and the VAE's own ELBO
    QCOMPARE(meter->row(0).title, QStringLiteral("Glow"));
    QCOMPARE(meter->row(1).title, QStringLiteral("PixelCNN"));
    QCOMPARE(meter->row(2).title, QStringLiteral("VAE"));
    std::vector<double> centre;
    for (int i = 0; i < meter->rowCount(); ++i) {
        bool ok = false;
        const double value = meter->valueText(i).toDouble(&ok);
        QVERIFY2(ok && value > 0, qPrintable(meter->valueText(i)));
        QVERIFY(meter->row(i).fresh && meter->row(i).hasBand());
        QCOMPARE(meter->row(i).bandImages, le::LikelihoodMeter::kReferenceImages);
        centre.push_back(meter->row(i).bpd);
    }
    QCOMPARE(view.shownScoresId(), view.shownResultId());
    QVERIFY(meter->footnote().contains(QStringLiteral("200")));

    // Record while walking off the data: every other direction to +3σ with the sliders, the
    // wheel to zoom out, and a drag through the four far corners of the map.
    QTest::mouseClick(view.recordButton(), Qt::LeftButton);
    QVERIFY(view.isRecording());
    for (int i = 2; i < view.sliderCount(); ++i) {
        view.slider(i)->setValue(LatentMapView::kSliderSteps * 3);
        QTest::qWait(20);
    }
    QCustomPlot* plot = view.plot();
    const QPoint middle = plot->axisRect()->rect().center();
    QWheelEvent wheel(middle, plot->mapToGlobal(middle), QPoint(), QPoint(0, -120 * 10),
                      Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(plot, &wheel);
    plot->replot();
    constexpr double sx = 10.0;  // standard deviations out along PC1 and PC2
    QVERIFY(plot->xAxis->range().upper > 0);
    // Ten standard deviations along PC1 and PC2: the sliders' scale, read back through them.
    view.slider(0)->setValue(LatentMapView::kSliderSteps);
    view.slider(1)->setValue(LatentMapView::kSliderSteps);
    const QPointF oneSd = view.cursorPosition();
    QVERIFY(plot->xAxis->range().contains(sx * oneSd.x()) &&
            plot->yAxis->range().contains(sx * oneSd.y()));
    QTest::mousePress(plot, Qt::LeftButton, {}, pixelFor(plot, 0, 0));
    int outsideBoth = 0;
    QStringList seen;
    const std::pair<int, int> corners[] = {{1, 1}, {1, -1}, {-1, -1}, {-1, 1}};
    for (const auto& [cx, cy] : corners) {
        const QPointF target(cx * sx * oneSd.x(), cy * sx * oneSd.y());
        for (int step = 1; step <= 5; ++step) {  // a few steps along the way
            const QPointF from = view.cursorPosition();
            dragTo(plot, pixelFor(plot, from.x() + (target.x() - from.x()) * step / 5.0,
                                  from.y() + (target.y() - from.y()) * step / 5.0));
            QTest::qWait(30);
        }
        // The last request's image, then its scores, every row scored for it.
        QTRY_VERIFY_WITH_TIMEOUT(view.shownScoresId() == view.lastRequestId(), 30000);
        for (int i = 0; i < meter->rowCount(); ++i) QVERIFY(meter->row(i).fresh);
        const le::LikelihoodScore& glow = meter->row(0);
        const le::LikelihoodScore& pixel = meter->row(1);
        QVERIFY2(std::abs(glow.bpd - centre[0]) > 0.3 || std::abs(pixel.bpd - centre[1]) > 0.3,
                 qPrintable(QString("glow %1, pixelcnn %2").arg(glow.bpd).arg(pixel.bpd)));
        if (glow.sideOfBand() != 0 && pixel.sideOfBand() != 0) {
            ++outsideBoth;
            // Off the data, the bar says so: red above the band, orange below it.
            for (int i = 0; i < 2; ++i)
                QCOMPARE(meter->barColour(i), meter->row(i).sideOfBand() > 0
                                                  ? le::LikelihoodMeterWidget::aboveColour()
                                                  : le::LikelihoodMeterWidget::belowColour());
        }
        seen << QString("(%1,%2): glow %3 [%4..%5], pixelcnn %6 [%7..%8]")
                    .arg(cx)
                    .arg(cy)
                    .arg(glow.bpd, 0, 'f', 2)
                    .arg(glow.bandLow, 0, 'f', 2)
                    .arg(glow.bandHigh, 0, 'f', 2)
                    .arg(pixel.bpd, 0, 'f', 2)
                    .arg(pixel.bandLow, 0, 'f', 2)
                    .arg(pixel.bandHigh, 0, 'f', 2);
    }
    QTest::mouseRelease(plot, Qt::LeftButton, {},
                        pixelFor(plot, view.cursorPosition().x(), view.cursorPosition().y()));
    // Far out, at some corner the exact models agree the picture is unlike the data.
    QVERIFY2(outsideBoth >= 1, qPrintable(seen.join("; ")));
    QTest::qWait(200);
    QTest::mouseClick(view.recordButton(), Qt::LeftButton);
    QVERIFY(view.recordedImageCount() >= 5);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("walk.mp4"));
    QVERIFY2(view.exportVideo(path), qPrintable(view.recordStatusText()));
    const VideoInfo video = readVideo(path);
    QVERIFY(video.frames > 0);
    QCOMPARE(video.frames, int(view.videoFrames().size()));
    QCOMPARE(video.width, 280);  // 28 px, ten times
    QCOMPARE(video.height, 280);
}

QTEST_MAIN(TestLatentMapView)
#include "tst_latent_map_view.moc"
