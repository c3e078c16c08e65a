// The Autoregressive tab end to end with tiny untrained models written here: stepping one
// position, a row, to the end; play and pause; anchors kept across several completions; the
// painted mask; the VQ-VAE's code grid; keyboard shortcuts; the MP4 export. With the shipped
// Fashion-MNIST PixelCNN: the entropy heat map against the reported distributions, and rewinding,
// branching and switching branches. Checks what the user sees change.

#include "anchor_editor.h"
#include "autoregressive_view.h"
#include "checkpoint.h"
#include "entropy_grid.h"
#include "entropy_map_view.h"
#include "image_view.h"
#include "model_catalog.h"

#include <QComboBox>
#include <QDoubleSpinBox>
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

QString writeCheckpoint(const QString& path, const std::string& family, le::ModelConfig config) {
    le::writeImageShape(config, le::ImageShape{1, kSize, kSize});
    torch::manual_seed(3);
    auto model = le::ModelRegistry::instance().create(family, config);
    le::CheckpointHeader header;
    header.dataset = QStringLiteral("fashion-mnist");
    le::saveCheckpoint(path, *model, header);
    return path;
}

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
    le::ModelConfig pixel;
    pixel.set("hidden", int64_t{8});
    pixel.set("layers", int64_t{2});
    pixel.set("kernel", int64_t{3});
    m_pixelcnn = writeCheckpoint(m_tmp.filePath("pixelcnn_tiny.lec"), "pixelcnn", pixel);
    le::ModelConfig vq;
    vq.set("hidden", int64_t{8});
    vq.set("codes", int64_t{8});
    vq.set("code_dim", int64_t{4});
    vq.set("prior_hidden", int64_t{8});
    vq.set("prior_layers", int64_t{2});
    m_vqvae = writeCheckpoint(m_tmp.filePath("vqvae_tiny.lec"), "vqvae", vq);
    le::ModelConfig vae;
    vae.set("hidden", int64_t{8});
    vae.set("latent", int64_t{4});
    m_vae = writeCheckpoint(m_tmp.filePath("vae_tiny.lec"), "vae", vae);
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

QTEST_MAIN(TestAutoregressiveView)
#include "tst_autoregressive_view.moc"
