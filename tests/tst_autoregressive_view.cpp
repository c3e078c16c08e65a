// The Autoregressive tab end to end with tiny untrained models written here: stepping one
// position, a row, to the end; play and pause; anchors kept across several completions; the
// painted mask; the VQ-VAE's code grid; keyboard shortcuts. Checks what the user sees change.

#include "anchor_editor.h"
#include "autoregressive_view.h"
#include "checkpoint.h"
#include "image_view.h"
#include "model_catalog.h"

#include <QComboBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <qcustomplot.h>

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

private:
    // A shown view on the PixelCNN with its first report on screen.
    void startOn(AutoregressiveView& view, const QString& path);

    QTemporaryDir m_tmp;
    QVector<le::CatalogEntry> m_catalog;
    QString m_pixelcnn, m_vqvae, m_vae;
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
    QCOMPARE(view.modelCount(), 2);  // the VAE cannot step
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
    QTest::mouseClick(view.runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(view.lastStep().done, 10000);
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

QTEST_MAIN(TestAutoregressiveView)
#include "tst_autoregressive_view.moc"
