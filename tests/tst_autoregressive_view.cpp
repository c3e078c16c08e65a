// The Autoregressive tab end to end with tiny untrained models written here: stepping one
// position, a row, to the end; play and pause; anchors kept across several completions; the
// painted mask; the VQ-VAE's code grid; keyboard shortcuts; the MP4 export. With the shipped
// Fashion-MNIST PixelCNN: the entropy heat map against the reported distributions, and rewinding,
// branching and switching branches, and a workspace that rebuilds every branch. Checks what the
// user sees change.

#include "core/autoregressive/entropy_grid.h"
#include "core/data/datasets.h"
#include "core/data/fashion_mnist.h"
#include "core/imaging/fit.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"
#include "core/storage/workspace.h"
#include "tiny_checkpoints.h"
#include "ui/views/autoregressive_view.h"
#include "ui/widgets/anchor_editor.h"
#include "ui/widgets/entropy_map_view.h"
#include "ui/widgets/image_view.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <qcustomplot.h>

#include <opencv2/videoio.hpp>

#include <cmath>

using le::AutoregressiveView;

namespace {

constexpr int kSize = 8;  // 8×8 grey: 64 positions, 2×2 VQ-VAE codes

cv::Mat gradientImage() {
    cv::Mat image(kSize, kSize, CV_8UC1);
    for (int r = 0; r < kSize; ++r)
        for (int c = 0; c < kSize; ++c) image.at<uchar>(r, c) = uchar(20 + 25 * r + 3 * c);
    return image;
}

QString shippedPixelCnn() {
    return QDir(qEnvironmentVariable("LE_SOURCE_DIR"))
        .filePath(QStringLiteral("models/pretrained/pixelcnn_fashion-mnist.lec"));
}

double entropyOf(const std::vector<float>& p) {
    double h = 0;
    for (float v : p)
        if (v > 0) h -= double(v) * std::log2(double(v));
    return h;
}

// Grey values of an image in raster order.
std::vector<int> greyValues(const QImage& image) {
    std::vector<int> values;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x) values.push_back(qGray(image.pixel(x, y)));
    return values;
}

bool haveFashionMnist() {
    return QFileInfo::exists(le::defaultFashionMnistDir() + "/t10k-images-idx3-ubyte.gz");
}

bool sameMat(const cv::Mat& a, const cv::Mat& b) {
    return a.size() == b.size() && a.type() == b.type() &&
           (a.empty() || cv::norm(a, b, cv::NORM_INF) == 0);
}

// Entropies bit for bit, NaN (anchored) matching NaN.
bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](float x, float y) { return (std::isnan(x) && std::isnan(y)) || x == y; });
}

// Every completion the two views show, pixel for pixel.
bool sameCompletions(const AutoregressiveView& a, const AutoregressiveView& b) {
    if (a.completionCount() != b.completionCount()) return false;
    for (int i = 0; i < a.completionCount(); ++i)
        if (a.completionView(i)->image() != b.completionView(i)->image()) return false;
    return true;
}

// The workspace file round trip: what a view saves, as the file gives it back.
QJsonObject throughFile(const QString& path, const QJsonObject& state) {
    le::saveWorkspaceFile(path, QJsonObject{{"views", QJsonObject{{"autoregressive", state}}}});
    return le::loadWorkspaceFile(path).value("views").toObject().value("autoregressive").toObject();
}

bool sameRows(const QImage& a, const cv::Mat& b, int rows) {
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < b.cols; ++c)
            if (qGray(a.pixel(c, r)) != b.at<uchar>(r, c)) return false;
    return true;
}

}  // namespace

class TestAutoregressiveView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void offersOnlyModelsThatStep();
    void stepShowsPositionAndDistribution();
    void stepRowAndRunToEnd();
    void playAndPause();
    void anchorsKeepTheTopHalfInEveryCompletion();
    void paintingTheMaskChoosesPaintedRegion();
    void vqvaeStepsCodesAndDecodes();
    void keyboardShortcutsStep();
    void entropyMapShowsFilledPositions();
    void rewindBranchAndSwitch();
    void stepBackMovesAFreshBranch();
    void exportsVideo();
    void workspaceRebuildsBranches();
    void workspaceKeepsTheSourcesOfDroppedBranches();
    void workspaceWithMissingModelWarns();
    void workspaceWithUndecodableMaskWarns_data();
    void workspaceWithUndecodableMaskWarns();

private:
    // A shown view on the PixelCNN with its first report on screen.
    void startOn(AutoregressiveView& view, const QString& path);

    QTemporaryDir m_tmp;
    QVector<le::CatalogEntry> m_catalog;
    QString m_pixelcnn, m_vqvae, m_vae, m_shipped;
};

void TestAutoregressiveView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    const le::ImageShape shape{1, kSize, kSize};
    const QString dataset = QStringLiteral("fashion-mnist");
    le::ModelConfig pixel = le::test::tinyConfig("pixelcnn");
    pixel.set("kernel", int64_t{3});
    m_pixelcnn = le::test::writeTinyCheckpoint(m_tmp.filePath("pixelcnn_tiny.lec"), "pixelcnn",
                                               pixel, shape, dataset, 3);
    m_vqvae = le::test::writeTinyCheckpoint(m_tmp.filePath("vqvae_tiny.lec"), "vqvae",
                                            le::test::tinyConfig("vqvae"), shape, dataset, 3);
    m_vae = le::test::writeTinyCheckpoint(m_tmp.filePath("vae_tiny.lec"), "vae",
                                          le::test::tinyConfig("vae"), shape, dataset, 3);
    QStringList skipped;
    m_catalog = le::scanCheckpoints({m_tmp.path()}, {}, &skipped);
    QVERIFY2(skipped.isEmpty(), qPrintable(skipped.join('\n')));
    QCOMPARE(int(m_catalog.size()), 3);
    if (QFileInfo::exists(shippedPixelCnn())) {
        m_catalog = le::scanCheckpoints({m_tmp.path()}, {shippedPixelCnn()}, &skipped);
        QVERIFY2(skipped.isEmpty(), qPrintable(skipped.join('\n')));
        m_shipped = QFileInfo(shippedPixelCnn()).absoluteFilePath();
    }
}

void TestAutoregressiveView::startOn(AutoregressiveView& view, const QString& path) {
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.startCombo()->setCurrentIndex(AutoregressiveView::Blank);
    view.completionsSpin()->setValue(1);
    view.setCheckpoints(m_catalog);
    view.selectModel(path);
    view.restartButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().totalSteps > 0 && !view.lastStep().images.isEmpty(),
                             30000);
    QVERIFY2(view.errorText().isEmpty(), qPrintable(view.errorText()));
}

void TestAutoregressiveView::offersOnlyModelsThatStep() {
    AutoregressiveView view;
    view.setCheckpoints(m_catalog);
    QCOMPARE(view.modelCount(), m_shipped.isEmpty() ? 2 : 3);  // the VAE cannot step
    for (int i = 0; i < view.modelCombo()->count(); ++i)
        QVERIFY(!view.modelCombo()->itemText(i).contains(QStringLiteral("VAE \u00b7")) ||
                view.modelCombo()->itemText(i).contains(QStringLiteral("VQ-VAE")));
}

void TestAutoregressiveView::stepShowsPositionAndDistribution() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    QCOMPARE(view.lastStep().totalSteps, qint64(kSize * kSize));
    QCOMPARE(view.lastStep().position, qint64(-1));
    QVERIFY(view.stepButton()->isEnabled());

    QTest::mouseClick(view.stepButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().position, qint64(0), 10000);
    QCOMPARE(view.distributionBars()->data()->size(), 256);
    QCOMPARE(view.sampledBar()->data()->size(), 1);
    QCOMPARE(int(view.sampledBar()->data()->at(0)->key), view.lastStep().value);
    QCOMPARE(view.completionView(0)->highlight(), QRect(0, 0, 1, 1));
    QCOMPARE(view.progressBar()->value(), 1);
    QVERIFY(view.positionLabel()->text().contains(QStringLiteral("Position 1 of 64")));
    const QImage image = view.completionView(0)->image();
    QCOMPARE(image.size(), QSize(kSize, kSize));
    // The first pixel now holds the sampled value; the rest is still blank (mid-grey).
    QCOMPARE(qGray(image.pixel(0, 0)), view.lastStep().value);

    QTest::mouseClick(view.stepButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().position, qint64(1), 10000);
    QCOMPARE(view.completionView(0)->highlight(), QRect(1, 0, 1, 1));
}

void TestAutoregressiveView::stepRowAndRunToEnd() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    QTest::mouseClick(view.stepButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().stepsDone, qint64(1), 10000);
    QTRY_VERIFY(view.stepRowButton()->isEnabled());
    QTest::mouseClick(view.stepRowButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().stepsDone, qint64(kSize), 10000);
    QCOMPARE(view.lastStep().row, 0);
    QCOMPARE(view.lastStep().col, kSize - 1);

    QTRY_VERIFY(view.runButton()->isEnabled());
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 30000);
    QCOMPARE(view.progressBar()->value(), kSize * kSize);
    QVERIFY(view.completionView(0)->highlight().isEmpty());
    QTRY_VERIFY(!view.stepButton()->isEnabled());
    QVERIFY(view.positionLabel()->text().contains(QStringLiteral("done")));
}

void TestAutoregressiveView::playAndPause() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    view.speedSlider()->setValue(50);  // 100 steps per second
    QTest::mouseClick(view.playButton(), Qt::LeftButton);
    QVERIFY(view.isPlaying());
    QCOMPARE(view.playButton()->text(), QStringLiteral("Pause"));
    QVERIFY(!view.stepButton()->isEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().stepsDone >= 5, 10000);
    QTest::mouseClick(view.playButton(), Qt::LeftButton);
    QVERIFY(!view.isPlaying());
    QCOMPARE(view.playButton()->text(), QStringLiteral("Play"));
    QTRY_VERIFY(view.stepButton()->isEnabled());
    QVERIFY(view.lastStep().stepsDone < kSize * kSize);
}

void TestAutoregressiveView::anchorsKeepTheTopHalfInEveryCompletion() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    view.setAnchorImage(gradientImage());
    view.setStartFrom(AutoregressiveView::TopHalf);
    view.completionsSpin()->setValue(3);
    QTest::mouseClick(view.restartButton(), Qt::LeftButton);
    QCOMPARE(view.completionCount(), 3);
    QTRY_COMPARE_WITH_TIMEOUT(int(view.lastStep().images.size()), 3, 10000);
    QTRY_VERIFY(view.runButton()->isEnabled());
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 30000);

    const cv::Mat anchor = gradientImage();
    QImage first = view.completionView(0)->image();
    bool bottomsDiffer = false;
    for (int i = 0; i < 3; ++i) {
        const QImage image = view.completionView(i)->image();
        QVERIFY2(sameRows(image, anchor, kSize / 2), qPrintable(QString::number(i)));
        if (i > 0 && image.copy(0, kSize / 2, kSize, kSize / 2) !=
                         first.copy(0, kSize / 2, kSize, kSize / 2))
            bottomsDiffer = true;
    }
    QVERIFY(bottomsDiffer);  // three seeds, three completions
}

void TestAutoregressiveView::paintingTheMaskChoosesPaintedRegion() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    view.setAnchorImage(gradientImage());
    le::AnchorEditor* editor = view.anchorEditor();
    editor->clearMask();
    QCOMPARE(cv::countNonZero(editor->mask()), 0);
    const QRect area = editor->imageRect();
    QTest::mouseClick(editor, Qt::LeftButton, {}, area.center());
    QVERIFY(cv::countNonZero(editor->mask()) > 0);
    QCOMPARE(view.startCombo()->currentIndex(), int(AutoregressiveView::Painted));
}

void TestAutoregressiveView::vqvaeStepsCodesAndDecodes() {
    AutoregressiveView view;
    startOn(view, m_vqvae);
    QCOMPARE(view.lastStep().family, QStringLiteral("vqvae"));
    QCOMPARE(view.lastStep().totalSteps, qint64(4));  // 2×2 codes
    QCOMPARE(view.lastStep().cellSize, 4);
    QTest::mouseClick(view.stepButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().position, qint64(0), 10000);
    QCOMPARE(view.distributionBars()->data()->size(), 8);  // one bar per code
    // Codes are whole numbers, so are the axis's ticks; the legend sits beside the bars, not on
    // them (inside the axis rect it hid the highest codes).
    view.plot()->replot();
    QVERIFY(!view.plot()->xAxis->tickVector().isEmpty());
    for (double tick : view.plot()->xAxis->tickVector()) QCOMPARE(tick, std::round(tick));
    QVERIFY(view.plot()->legend->realVisibility());
    QVERIFY(!view.plot()->legend->outerRect().intersects(view.plot()->axisRect()->outerRect()));
    QCOMPARE(view.completionView(0)->highlight(), QRect(0, 0, 4, 4));
    QCOMPARE(view.completionView(0)->image().size(), QSize(kSize, kSize));
    // The heat map is per code: 2×2 cells, the first one predicted.
    QCOMPARE(view.entropyMap()->grid().width, 2);
    QCOMPARE(view.entropyMap()->grid().height, 2);
    QCOMPARE(int(view.entropyMap()->grid().at(0, 0)), int(le::EntropyGrid::Predicted));
    QCOMPARE(int(view.entropyMap()->grid().at(0, 1)), int(le::EntropyGrid::Unfilled));
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 10000);
    QCOMPARE(view.entropyMap()->grid().predicted, 4);
}

void TestAutoregressiveView::keyboardShortcutsStep() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    view.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&view));
    view.plot()->setFocus();
    QTest::keyClick(view.plot(), Qt::Key_Right);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().stepsDone, qint64(1), 10000);
    QTest::keyClick(view.plot(), Qt::Key_Down);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().stepsDone, qint64(kSize), 10000);
    // Alt+P, the Speed label's mnemonic, reaches its slider.
    QTest::keyClick(&view, Qt::Key_P, Qt::AltModifier);
    QTRY_VERIFY(view.speedSlider()->hasFocus());
}

void TestAutoregressiveView::entropyMapShowsFilledPositions() {
    if (m_shipped.isEmpty()) QSKIP("the shipped PixelCNN is not in LE_SOURCE_DIR");
    AutoregressiveView view;
    startOn(view, m_shipped);
    QCOMPARE(view.lastStep().totalSteps, qint64(28 * 28));
    QCOMPARE(view.entropyMap()->grid().predicted, 0);

    // Every distribution the stepper reports, by position.
    std::map<qint64, std::vector<float>> reported;
    connect(&view, &AutoregressiveView::stepShown, this, [&] {
        const le::AutoregressiveStep& s = view.lastStep();
        if (s.position >= 0 && !s.distribution.empty()) reported[s.position] = s.distribution;
    });
    constexpr int kSteps = 6;
    for (int i = 1; i <= kSteps; ++i) {
        QTRY_VERIFY(view.stepButton()->isEnabled());
        QTest::mouseClick(view.stepButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().stepsDone, qint64(i), 10000);
    }
    QCOMPARE(int(reported.size()), kSteps);

    const le::EntropyGrid& grid = view.entropyMap()->grid();
    QCOMPARE(grid.width, 28);
    QCOMPARE(grid.height, 28);
    QCOMPARE(grid.predicted, kSteps);
    const QImage heat = view.entropyMap()->image();
    QCOMPARE(heat.size(), QSize(28, 28));
    const QColor grey(le::unfilledColour()[0], le::unfilledColour()[1], le::unfilledColour()[2]);
    double lo = 1e9, hi = -1e9;
    for (int cell = 0; cell < 28 * 28; ++cell) {
        const int row = cell / 28, col = cell % 28;
        const bool filled = cell < kSteps;
        QCOMPARE(int(grid.at(row, col)),
                 int(filled ? le::EntropyGrid::Predicted : le::EntropyGrid::Unfilled));
        QCOMPARE(QColor(heat.pixel(col, row)) == grey, !filled);
        if (!filled) continue;
        const double expected = entropyOf(reported.at(cell));
        QVERIFY2(std::abs(grid.bitsAt(row, col) - expected) < 1e-4,
                 qPrintable(QStringLiteral("cell %1: %2 bits shown, %3 computed")
                                .arg(cell)
                                .arg(grid.bitsAt(row, col))
                                .arg(expected)));
        lo = std::min(lo, expected);
        hi = std::max(hi, expected);
    }
    QVERIFY(std::abs(grid.minBits - lo) < 1e-4 && std::abs(grid.maxBits - hi) < 1e-4);

    // Hovering a filled cell names its entropy; an unfilled one says so.
    le::EntropyMapView* map = view.entropyMap();
    const QRect area = map->mapRect();
    const QPoint cell2(area.left() + int(2.5 * area.width() / 28), area.top() + area.height() / 56);
    QCOMPARE(map->cellAt(cell2), QPoint(2, 0));
    QTest::mouseMove(map, cell2);
    QTRY_VERIFY(view.entropyLabel()->text().contains(
        QString::number(entropyOf(reported.at(2)), 'f', 2) + QStringLiteral(" bits")));
    QTest::mouseMove(map, area.center());
    QTRY_VERIFY(view.entropyLabel()->text().contains(QStringLiteral("not filled")));
}

void TestAutoregressiveView::rewindBranchAndSwitch() {
    if (m_shipped.isEmpty()) QSKIP("the shipped PixelCNN is not in LE_SOURCE_DIR");
    AutoregressiveView view;
    view.seedSpin()->setValue(1);
    view.temperatureSpin()->setValue(1.0);
    startOn(view, m_shipped);
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 60000);
    QCOMPARE(view.branchCount(), 1);
    const std::vector<int> parent = greyValues(view.branchImage(0));
    QCOMPARE(int(parent.size()), 28 * 28);
    const le::EntropyGrid parentGrid = view.entropyMap()->grid();

    // Rewind to keep 300 positions (row 10, column 20) and resample with another seed.
    constexpr int kKeep = 300;
    QTRY_VERIFY(view.rewindSlider()->isEnabled());
    QCOMPARE(view.rewindSlider()->maximum(), 28 * 28 - 1);
    view.rewindSlider()->setValue(kKeep);
    QCOMPARE(view.completionView(0)->highlight(), QRect(20, 10, 1, 1));  // the preview
    view.seedSpin()->setValue(7);
    QVERIFY(view.resampleButton()->isEnabled());
    QTest::mouseClick(view.resampleButton(), Qt::LeftButton);
    QCOMPARE(view.branchCount(), 2);
    QCOMPARE(view.currentBranchIndex(), 1);
    QCOMPARE(view.branchForkCells(1), qint64(kKeep));
    QCOMPARE(view.branchSeed(1), quint64(7));
    // The replay of the kept positions: every one of them anchored, the last reported so.
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().stepsDone == kKeep && !view.isPlaying(), 30000);
    QCOMPARE(view.lastStep().position, qint64(kKeep - 1));
    QVERIFY(view.lastStep().anchored);
    QVERIFY(view.lastStep().distribution.empty());
    // The kept cells keep the parent's entropies.
    const le::EntropyGrid& kept = view.entropyMap()->grid();
    QCOMPARE(kept.predicted, kKeep);
    for (int cell = 0; cell < kKeep; ++cell)
        QCOMPARE(kept.bitsAt(cell / 28, cell % 28), parentGrid.bitsAt(cell / 28, cell % 28));

    QTRY_VERIFY(view.runButton()->isEnabled());
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 60000);
    const std::vector<int> child = greyValues(view.branchImage(1));
    QVERIFY(std::equal(parent.begin(), parent.begin() + kKeep, child.begin()));
    int differ = 0;
    for (size_t i = kKeep; i < parent.size(); ++i) differ += parent[i] != child[i];
    QVERIFY2(differ > 50, qPrintable(QString::number(differ)));
    QCOMPARE(greyValues(view.completionView(0)->image()), child);

    // Both listed, the current one highlighted, labelled with fork and seed.
    QListWidget* strip = view.branchStrip();
    QCOMPARE(strip->count(), 2);
    QCOMPARE(strip->currentRow(), 1);
    QVERIFY(strip->item(1)->text().contains(QStringLiteral("@300")));
    QVERIFY(strip->item(1)->text().contains(QStringLiteral("seed 7")));
    QVERIFY(strip->item(0)->text().contains(QStringLiteral("seed 1")));
    QVERIFY(!strip->item(0)->icon().isNull());

    // Clicking the first branch shows it again, at once and after the session's answer.
    const QRect first = strip->visualItemRect(strip->item(0));
    QTest::mouseClick(strip->viewport(), Qt::LeftButton, {}, first.center());
    QCOMPARE(view.currentBranchIndex(), 0);
    QCOMPARE(greyValues(view.completionView(0)->image()), parent);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().branch != 0 &&
                                 view.runButton()->isEnabled() == false && view.lastStep().done &&
                                 view.resampleButton()->isEnabled(),
                             10000);
    QCOMPARE(greyValues(view.completionView(0)->image()), parent);
    QCOMPARE(view.entropyMap()->grid().predicted, 28 * 28);

    // Same fork, same seed again: the seed moves on instead of repeating branch 2.
    view.rewindSlider()->setValue(kKeep);
    view.seedSpin()->setValue(7);
    QTest::mouseClick(view.resampleButton(), Qt::LeftButton);
    QCOMPARE(view.branchCount(), 3);
    QCOMPARE(view.branchSeed(2), quint64(8));
    QCOMPARE(view.seedSpin()->value(), 8);
}

void TestAutoregressiveView::stepBackMovesAFreshBranch() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 30000);
    view.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&view));

    // Ctrl+Z: one position back, as a new branch beside the finished run.
    QTRY_VERIFY(view.stepBackButton()->isEnabled());
    QTest::keyClick(view.plot(), Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(view.branchCount(), 2);
    QCOMPARE(view.branchForkCells(1), qint64(kSize * kSize - 1));
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().stepsDone == kSize * kSize - 1 && !view.isPlaying(),
                             10000);
    // Again from the fresh branch: it moves back instead of piling up branches.
    QTRY_VERIFY(view.stepBackButton()->isEnabled());
    QTest::keyClick(view.plot(), Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(view.branchCount(), 2);
    QCOMPARE(view.branchForkCells(1), qint64(kSize * kSize - 2));
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().stepsDone == kSize * kSize - 2 && !view.isPlaying(),
                             10000);
    // The image's unfilled tail is blank (mid grey), the rest the run's.
    const std::vector<int> parent = greyValues(view.branchImage(0));
    const std::vector<int> now = greyValues(view.completionView(0)->image());
    QVERIFY(std::equal(parent.begin(), parent.end() - 2, now.begin()));

    // Clicking a position on the image rewinds to it.
    le::ImageView* image = view.completionView(0);
    const QRect area = image->imageRect();
    const QPoint rowTwo(area.left() + area.width() / (2 * kSize),
                        area.top() + (2 * area.height() + area.height() / 2) / kSize);
    QTest::mouseClick(image, Qt::LeftButton, {}, rowTwo);
    QCOMPARE(view.branchCount(), 2);
    QCOMPARE(view.branchForkCells(1), qint64(2 * kSize));
}

void TestAutoregressiveView::exportsVideo() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    QSignalSpy exported(&view, &AutoregressiveView::videoExported);
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 30000);
    QTRY_VERIFY(view.exportVideoButton()->isEnabled());

    const QString path = m_tmp.filePath(QStringLiteral("run.mp4"));
    view.exportVideo(path);
    QVERIFY(exported.wait(30000));
    QCOMPARE(exported.last().at(0).toString(), path);
    QVERIFY2(exported.last().at(1).toString().isEmpty(),
             qPrintable(exported.last().at(1).toString()));
    cv::VideoCapture capture(path.toStdString());
    QVERIFY(capture.isOpened());
    int frames = 0;
    cv::Mat frame, firstFrame;
    while (capture.read(frame)) {
        if (frames++ == 0) firstFrame = frame.clone();
    }
    // 64 positions: a frame per position, the start, and a second of the result held.
    QVERIFY2(frames > kSize * kSize, qPrintable(QString::number(frames)));
    QVERIFY(firstFrame.cols > firstFrame.rows);  // the image and the heat map side by side

    // A folder that cannot be written: an error naming the file, nothing left behind.
    const QString bad = m_tmp.filePath(QStringLiteral("missing/run.mp4"));
    view.exportVideo(bad);
    QVERIFY(exported.wait(30000));
    QVERIFY(exported.last().at(1).toString().contains(bad));
    QVERIFY(!QFileInfo::exists(bad));
}

void TestAutoregressiveView::workspaceRebuildsBranches() {
    if (m_shipped.isEmpty()) QSKIP("the shipped PixelCNN is not in LE_SOURCE_DIR");
    if (!haveFashionMnist()) QSKIP("dataset-fashion-mnist is not installed");
    constexpr int kSide = 28, kRows = 6, kFork = 100;
    AutoregressiveView view;
    startOn(view, m_shipped);

    // Test item 5 as the anchor image, two painted discs kept, two completions.
    const cv::Mat item =
        le::fitMatToShape(le::DatasetCache::instance().item(QStringLiteral("fashion-mnist"), 5),
                          le::ImageShape{1, kSide, kSide});
    view.datasetItemSpin()->setValue(5);
    QTRY_VERIFY_WITH_TIMEOUT(sameMat(view.anchorEditor()->image(), item), 30000);
    le::AnchorEditor* editor = view.anchorEditor();
    editor->clearMask();
    editor->paintAt(QPoint(6, 6), true);
    editor->paintAt(QPoint(20, 9), true);
    QCOMPARE(view.startCombo()->currentIndex(), int(AutoregressiveView::Painted));
    QVERIFY(cv::countNonZero(editor->mask()) > 0);
    view.completionsSpin()->setValue(2);
    view.seedSpin()->setValue(3);
    view.temperatureSpin()->setValue(0.9);
    view.speedSlider()->setValue(60);
    QTest::mouseClick(view.restartButton(), Qt::LeftButton);
    auto stepRows = [](AutoregressiveView& v, int rows, qint64 from) {
        for (int row = 1; row <= rows; ++row) {
            QTRY_VERIFY_WITH_TIMEOUT(v.stepRowButton()->isEnabled(), 30000);
            QTest::mouseClick(v.stepRowButton(), Qt::LeftButton);
            QTRY_COMPARE_WITH_TIMEOUT(v.lastStep().stepsDone, (from / kSide + row) * kSide, 10000);
        }
    };
    stepRows(view, kRows, 0);
    if (QTest::currentTestFailed()) return;
    QCOMPARE(int(view.lastStep().images.size()), 2);

    // Rewound to keep 100 positions, resampled with seed 11 at T = 1.1, two rows further.
    QTRY_VERIFY(view.resampleButton()->isEnabled());
    view.rewindSlider()->setValue(kFork);
    view.seedSpin()->setValue(11);
    view.temperatureSpin()->setValue(1.1);
    QTest::mouseClick(view.resampleButton(), Qt::LeftButton);
    QCOMPARE(view.branchCount(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().stepsDone == kFork && !view.isPlaying(), 30000);
    stepRows(view, 2, kFork);
    if (QTest::currentTestFailed()) return;
    constexpr qint64 kBranchSteps = 5 * kSide;  // 100 → 112 → 140

    // The first branch current again.
    view.showBranch(0);
    QTRY_VERIFY_WITH_TIMEOUT(
        view.stepButton()->isEnabled() && view.lastStep().stepsDone == kRows * kSide, 10000);
    QVERIFY(view.branchImage(0) != view.branchImage(1));

    const QString file = m_tmp.filePath(QStringLiteral("autoregressive.lew"));
    const QJsonObject state = throughFile(file, view.workspaceState(le::WorkspaceContext(file)));

    AutoregressiveView restored;
    restored.resize(1000, 600);
    restored.show();
    QVERIFY(QTest::qWaitForWindowExposed(&restored));
    restored.setCheckpoints(m_catalog);  // starts on a model of its own first
    le::WorkspaceContext context(file);
    restored.restoreWorkspaceState(state, context);
    QVERIFY2(context.warnings().isEmpty(), qPrintable(context.warnings().join('\n')));
    QTRY_VERIFY_WITH_TIMEOUT(restored.stepButton()->isEnabled(), 60000);

    QCOMPARE(restored.modelCombo()->currentData().toString(), m_shipped);
    QCOMPARE(restored.startCombo()->currentIndex(), int(AutoregressiveView::Painted));
    QCOMPARE(restored.completionsSpin()->value(), 2);
    QCOMPARE(restored.seedSpin()->value(), 11);
    QCOMPARE(restored.temperatureSpin()->value(), 1.1);
    QCOMPARE(restored.speedSlider()->value(), 60);
    QCOMPARE(restored.datasetItemSpin()->value(), 5);
    QVERIFY(sameMat(restored.anchorEditor()->mask(), editor->mask()));
    QVERIFY(sameMat(restored.anchorEditor()->image(), item));

    QCOMPARE(restored.branchCount(), 2);
    QCOMPARE(restored.currentBranchIndex(), 0);
    const qint64 forks[] = {0, kFork}, steps[] = {kRows * kSide, kBranchSteps};
    const quint64 seeds[] = {3, 11};
    for (int i = 0; i < 2; ++i) {
        QCOMPARE(restored.branchForkCells(i), forks[i]);
        QCOMPARE(restored.branchSeed(i), seeds[i]);
        QCOMPARE(restored.branchStepsDone(i), steps[i]);
        QCOMPARE(restored.branchImage(i), view.branchImage(i));
    }
    QCOMPARE(restored.completionCount(), 2);
    QVERIFY(sameCompletions(restored, view));
    QVERIFY(sameBits(restored.lastStep().entropyBits, view.lastStep().entropyBits));
    QVERIFY(restored.exportVideoButton()->isEnabled());  // the run's frames came back too

    // Each sampler's random stream is where it was: one more step draws the same values.
    QTest::mouseClick(view.stepButton(), Qt::LeftButton);
    QTest::mouseClick(restored.stepButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().stepsDone == kRows * kSide + 1 &&
                                 restored.lastStep().stepsDone == kRows * kSide + 1,
                             10000);
    QVERIFY(sameCompletions(restored, view));

    // And the other branch, every completion of it.
    view.showBranch(1);
    restored.showBranch(1);
    QTRY_VERIFY_WITH_TIMEOUT(view.stepButton()->isEnabled() && restored.stepButton()->isEnabled(),
                             10000);
    QCOMPARE(restored.lastStep().stepsDone, kBranchSteps);
    QVERIFY(sameCompletions(restored, view));
    QVERIFY(sameBits(restored.lastStep().entropyBits, view.lastStep().entropyBits));
}

void TestAutoregressiveView::workspaceKeepsTheSourcesOfDroppedBranches() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 30000);
    // A chain of 13 branches, each forked one position before the last: the list keeps 12, so the
    // run's start is dropped though every branch still comes from it.
    constexpr int kChain = 12, kFirstFork = 50;
    for (int i = 0; i < kChain; ++i) {
        const qint64 fork = kFirstFork - i;
        view.seedSpin()->setValue(100 + i);
        QVERIFY(view.rewindTo(fork));
        QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().stepsDone == fork && !view.isPlaying() &&
                                     view.stepButton()->isEnabled(),
                                 10000);
        QTest::mouseClick(view.stepButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().stepsDone, fork + 1, 10000);
    }
    QCOMPARE(view.branchCount(), kChain);
    QCOMPARE(view.branchForkCells(0), qint64(kFirstFork));  // the start is gone from the list
    QTRY_VERIFY(view.rewindSlider()->isEnabled());

    const QString file = m_tmp.filePath(QStringLiteral("chain.lew"));
    const QJsonObject state = throughFile(file, view.workspaceState(le::WorkspaceContext(file)));
    const QJsonArray saved = state.value("run").toObject().value("branches").toArray();
    QCOMPARE(saved.size(), kChain + 1);
    QVERIFY(saved.at(0).toObject().value("dropped").toBool());

    AutoregressiveView restored;
    startOn(restored, m_vqvae);  // on another model first
    le::WorkspaceContext context(file);
    restored.restoreWorkspaceState(state, context);
    QVERIFY2(context.warnings().isEmpty(), qPrintable(context.warnings().join('\n')));
    QTRY_VERIFY_WITH_TIMEOUT(restored.stepButton()->isEnabled(), 30000);
    QCOMPARE(restored.branchCount(), kChain);
    QCOMPARE(restored.currentBranchIndex(), kChain - 1);
    for (int i = 0; i < kChain; ++i) {
        QCOMPARE(restored.branchForkCells(i), view.branchForkCells(i));
        QCOMPARE(restored.branchSeed(i), view.branchSeed(i));
        QCOMPARE(restored.branchStepsDone(i), view.branchStepsDone(i));
        QCOMPARE(restored.branchImage(i), view.branchImage(i));
    }
    QVERIFY(sameCompletions(restored, view));
    // Saved again, it still names the dropped start.
    const QJsonArray again =
        restored.workspaceState(context).value("run").toObject().value("branches").toArray();
    QCOMPARE(again, saved);
}

void TestAutoregressiveView::workspaceWithMissingModelWarns() {
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    const QString file = m_tmp.filePath(QStringLiteral("missing.lew"));
    le::WorkspaceContext context(file);
    QJsonObject state = view.workspaceState(context);
    state["model"] = context.fileRef(m_tmp.filePath(QStringLiteral("gone/pixelcnn_gone.lec")));
    state["seed"] = 42;

    AutoregressiveView restored;
    startOn(restored, m_pixelcnn);
    restored.restoreWorkspaceState(state, context);
    QCOMPARE(context.warnings().size(), 1);
    QVERIFY2(context.warnings().front().contains(QStringLiteral("pixelcnn_gone.lec")),
             qPrintable(context.warnings().front()));
    // The run it had stays, usable; the controls of the workspace are taken.
    QCOMPARE(restored.modelCombo()->currentData().toString(),
             QFileInfo(m_pixelcnn).absoluteFilePath());
    QCOMPARE(restored.seedSpin()->value(), 42);
    QVERIFY(restored.errorText().isEmpty());
    QCOMPARE(restored.branchCount(), 1);
    QTRY_VERIFY(restored.stepButton()->isEnabled());
    QTest::mouseClick(restored.stepButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(restored.lastStep().stepsDone, qint64(1), 10000);
}

void TestAutoregressiveView::workspaceWithUndecodableMaskWarns_data() {
    QTest::addColumn<bool>("runsMask");
    QTest::newRow("the editor's mask: the run is restored") << false;
    QTest::newRow("the run's own mask: it starts afresh") << true;
}

void TestAutoregressiveView::workspaceWithUndecodableMaskWarns() {
    QFETCH(bool, runsMask);
    AutoregressiveView view;
    startOn(view, m_pixelcnn);
    view.setAnchorImage(gradientImage());
    view.setStartFrom(AutoregressiveView::TopHalf);
    QTest::mouseClick(view.restartButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.stepRowButton()->isEnabled(), 10000);
    QTest::mouseClick(view.stepRowButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(view.lastStep().stepsDone, qint64(kSize), 10000);

    const QString file = m_tmp.filePath(QStringLiteral("mask.lew"));
    le::WorkspaceContext context(file);
    QJsonObject state = view.workspaceState(context);
    const QString garbage = QString::fromLatin1(QByteArray("not a png").toBase64());
    if (runsMask) {
        QJsonObject run = state.value("run").toObject();
        QVERIFY(run.value("anchor_mask").isString());
        run["anchor_mask"] = garbage;
        state["run"] = run;
    } else {
        QVERIFY(state.value("anchor_mask").isString());
        state["anchor_mask"] = garbage;
    }

    AutoregressiveView restored;
    startOn(restored, m_pixelcnn);
    restored.restoreWorkspaceState(state, context);
    QVERIFY(!context.warnings().isEmpty());
    QVERIFY2(context.warnings().front().contains(QStringLiteral("mask")),
             qPrintable(context.warnings().join('\n')));
    QCOMPARE(restored.startCombo()->currentIndex(), int(AutoregressiveView::TopHalf));
    QVERIFY(sameMat(restored.anchorEditor()->image(), view.anchorEditor()->image()));
    QCOMPARE(restored.anchorEditor()->mask().size(), restored.anchorEditor()->image().size());
    // A mask of another size is refused, the one there kept.
    const cv::Mat kept = restored.anchorEditor()->mask().clone();
    QVERIFY(!restored.anchorEditor()->setMask(cv::Mat(kSize + 1, kSize, CV_8UC1, cv::Scalar(255))));
    QVERIFY(sameMat(restored.anchorEditor()->mask(), kept));
    QTRY_VERIFY_WITH_TIMEOUT(restored.stepButton()->isEnabled(), 10000);
    QVERIFY(restored.errorText().isEmpty());
    QCOMPARE(restored.branchCount(), 1);
    const qint64 steps = runsMask ? 0 : kSize;
    QCOMPARE(restored.branchStepsDone(0), steps);
    if (!runsMask) QVERIFY(sameCompletions(restored, view));
    QTest::mouseClick(restored.stepButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(restored.lastStep().stepsDone, steps + 1, 10000);
}

QTEST_MAIN(TestAutoregressiveView)
#include "tst_autoregressive_view.moc"
