// LatentMapView without a model: a synthetic map, mouse drags on the plot, sliders, and the
// stale-result and error rules.

#include "image_view.h"
#include "latent_map_view.h"

#include <QSignalSpy>
#include <QSlider>
#include <QtTest>

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

QTEST_MAIN(TestLatentMapView)
#include "tst_latent_map_view.moc"
