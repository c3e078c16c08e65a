// The Inversion tab with tiny untrained models written here: an image dropped as a file (a
// QMimeData drop) is shown and inverted by every model that can, each by its own route; rows
// show the reconstruction, the error heat map, the VQ-VAE's code grid and the numbers; a long GAN
// optimisation reports progress live and stops on Cancel. With the shipped checkpoints: a DCGAN's
// best image so far is shown while it optimises and ends as its result; a VQ-VAE's code grid is
// edited by clicks (select, palette, paint, undo, reset) and decoded as it changes; its code-usage
// histogram counts dead codes as an independent count over the same held-out images does.

#include "core/data/datasets.h"
#include "core/data/faces.h"
#include "core/imaging/image_io.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"
#include "models/vqvae.h"
#include "tiny_checkpoints.h"
#include "ui/qt_image.h"
#include "ui/views/inversion_view.h"
#include "ui/widgets/code_grid_editor.h"
#include "ui/widgets/code_grid_widget.h"
#include "ui/widgets/image_view.h"

#include <QComboBox>
#include <QLabel>
#include <QListWidget>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolButton>
#include <QUrl>
#include <QtTest>

#include <qcustomplot.h>

#include <opencv2/imgproc.hpp>

using le::InversionView;

namespace {

constexpr int kSize = 28;

QString shipped(const QString& file) {
    return QDir(qEnvironmentVariable("LE_SOURCE_DIR")).filePath("models/pretrained/" + file);
}

QImage rgb(const QImage& image) {
    return image.convertToFormat(QImage::Format_RGB888);
}

// Sum of |a - b| over the pixels inside `window` and over all pixels.
std::pair<double, double> differenceInside(const QImage& a, const QImage& b, const QRect& window) {
    const QImage x = rgb(a), y = rgb(b);
    double inside = 0, total = 0;
    for (int r = 0; r < x.height(); ++r)
        for (int c = 0; c < x.width(); ++c) {
            const QRgb p = x.pixel(c, r), q = y.pixel(c, r);
            const double d = std::abs(qRed(p) - qRed(q)) + std::abs(qGreen(p) - qGreen(q)) +
                             std::abs(qBlue(p) - qBlue(q));
            total += d;
            if (window.contains(c, r)) inside += d;
        }
    return {inside, total};
}

}  // namespace

class TestInversionView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void droppedFileIsInvertedByEveryCapableModel();
    void ganOptimisationShowsProgressAndCancels();
    void unreadableDropShowsTheFileAndTheReason();
    void shippedGanShowsItsBestImageLiveAndCancels();
    void shippedVqVaeCodeGridIsEditable();
    void shippedVqVae2EditsEitherLevel();
    void codeUsageHistogramCountsDeadCodes();

private:
    void drop(QWidget* target, const QString& file);
    void invertFace(InversionView& view, const QString& checkpoint, quint64 faceSeed);

    QTemporaryDir m_tmp;
    QVector<le::CatalogEntry> m_catalog;
    QString m_imagePath;
};

void TestInversionView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_tmp.isValid());
    // "tiny-set" is no dataset: the images come from the test.
    le::test::writeTinyCheckpoints(m_tmp.path(),
                                   {{"a_vae.lec", "vae"},
                                    {"b_dcgan.lec", "dcgan"},
                                    {"c_vqvae.lec", "vqvae"},
                                    {"d_pixelcnn.lec", "pixelcnn"}},
                                   {1, kSize, kSize}, QStringLiteral("tiny-set"));
    m_catalog = le::scanCheckpoints({m_tmp.path()});
    QCOMPARE(int(m_catalog.size()), 4);

    cv::Mat image(40, 40, CV_8UC3, cv::Scalar(30, 60, 90));
    cv::rectangle(image, cv::Rect(10, 10, 20, 20), cv::Scalar(250, 250, 250), cv::FILLED);
    m_imagePath = m_tmp.filePath("square.png");
    le::writeImage(m_imagePath, image);
}

void TestInversionView::drop(QWidget* target, const QString& file) {
    auto* mime = new QMimeData;
    mime->setUrls({QUrl::fromLocalFile(file)});
    const QPoint at = target->rect().center();
    QDragEnterEvent enter(at, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent dropEvent(at, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &dropEvent);
    delete mime;
}

void TestInversionView::droppedFileIsInvertedByEveryCapableModel() {
    InversionView view;
    view.resize(1100, 700);
    view.stepsSpin()->setValue(20);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setCheckpoints(m_catalog);
    QCOMPARE(int(view.invertingModels().size()), 3);  // the PixelCNN has no latent to invert to
    QVERIFY(view.inputView()->image().isNull());

    QSignalSpy finished(&view, &InversionView::inversionFinished);
    drop(&view, m_imagePath);
    QVERIFY2(view.errorText().isEmpty(), qPrintable(view.errorText()));
    QCOMPARE(view.inputView()->image().size(), QSize(kSize, kSize));
    QVERIFY(view.isRunning());
    QVERIFY(view.cancelButton()->isEnabled());
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.first().first().toBool(), false);
    QVERIFY(!view.cancelButton()->isEnabled());

    for (int row = 0; row < 3; ++row) {
        const le::InversionOutcome& outcome = view.outcomes()[row];
        QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
        QCOMPARE(view.reconstructionView(row)->image().size(), QSize(kSize, kSize));
        QCOMPARE(view.errorView(row)->image().format(), QImage::Format_RGB888);
        QVERIFY(view.numbersLabel(row)->text().contains(QStringLiteral("MSE")));
        QVERIFY(view.numbersLabel(row)->text().contains(QStringLiteral(" ms")));
        QVERIFY(outcome.mse > 0);
    }
    QCOMPARE(view.outcomes()[0].method, QStringLiteral("encoder"));
    QCOMPARE(view.outcomes()[1].method, QStringLiteral("optimisation"));
    QCOMPARE(view.outcomes()[1].steps, qint64(20));  // every start in one batch
    QCOMPARE(view.outcomes()[2].method, QStringLiteral("code grid"));
    QVERIFY(view.codeView(2)->isVisible());
    QCOMPARE(view.codeView(2)->image().size(), QSize(kSize, kSize));
    QVERIFY(!view.codeView(0)->isVisible());
    QVERIFY(view.lossPlot()->graph(0)->dataCount() > 0);  // the GAN's live loss
}

void TestInversionView::ganOptimisationShowsProgressAndCancels() {
    InversionView view;
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.stepsSpin()->setValue(100000);
    view.setCheckpoints(m_catalog);
    QSignalSpy finished(&view, &InversionView::inversionFinished);
    view.openImageFile(m_imagePath);
    QTRY_VERIFY_WITH_TIMEOUT(view.lossPlot()->graph(0)->dataCount() > 5, 60000);
    QVERIFY(view.progressBar()->maximum() == 100000);
    QTest::mouseClick(view.cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(30000));
    QCOMPARE(finished.first().first().toBool(), true);
    QVERIFY(view.outcomes()[1].cancelled);
    QVERIFY(!view.isRunning());
    QVERIFY(view.invertButton()->isEnabled());
}

void TestInversionView::unreadableDropShowsTheFileAndTheReason() {
    InversionView view;
    view.show();
    view.setCheckpoints(m_catalog);
    const QString bad = m_tmp.filePath(QStringLiteral("not_an_image.png"));
    QFile file(bad);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("definitely not a PNG");
    file.close();
    drop(&view, bad);
    QVERIFY2(view.errorText().contains(QStringLiteral("not_an_image.png")),
             qPrintable(view.errorText()));
    QVERIFY(!view.isRunning());
}

void TestInversionView::shippedGanShowsItsBestImageLiveAndCancels() {
    const QString ckpt = shipped("dcgan_fashion-mnist.lec");
    if (!QFileInfo::exists(ckpt)) QSKIP("the shipped DCGAN is not in LE_SOURCE_DIR");
    InversionView view;
    view.resize(1100, 800);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.stepsSpin()->setValue(150);
    QVERIFY(view.openImageFile(m_imagePath));  // before the models: no dataset item is loaded
    view.setCheckpoints(le::scanCheckpoints({}, {ckpt}));
    QCOMPARE(int(view.invertingModels().size()), 1);

    QVector<QImage> shown;
    qint64 lastStep = 0;
    bool stepsIncrease = true;
    connect(&view, &InversionView::liveImageShown, this, [&](qint64 step) {
        stepsIncrease &= step > lastStep;
        lastStep = step;
        if (shown.isEmpty() || shown.last() != view.liveView()->image())
            shown << view.liveView()->image();
    });
    QSignalSpy finished(&view, &InversionView::inversionFinished);
    view.invert();
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.first().first().toBool(), false);
    const le::InversionOutcome& outcome = view.outcomes()[0];
    QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
    qInfo("%lld live images over %lld steps in %.0f ms", qlonglong(shown.size()),
          qlonglong(outcome.steps), outcome.ms);
    QVERIFY(stepsIncrease);
    QCOMPARE(lastStep, qint64(150));  // the last step is always shown
    // It changed at least twice while the optimisation ran.
    QVERIFY2(shown.size() >= 3, qPrintable(QString::number(shown.size())));
    QCOMPARE(shown.first().size(), QSize(28, 28));
    // And ends as the result.
    QCOMPARE(view.liveView()->image(), le::matToQImage(outcome.reconstruction));
    QCOMPARE(view.reconstructionView(0)->image(), le::matToQImage(outcome.reconstruction));

    // Cancel: the best image so far stays, and is the result's.
    view.stepsSpin()->setValue(100000);
    shown.clear();
    lastStep = 0;
    finished.clear();
    view.invert();
    QTRY_VERIFY_WITH_TIMEOUT(shown.size() >= 2, 60000);
    QTest::mouseClick(view.cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(30000));
    QCOMPARE(finished.first().first().toBool(), true);
    QVERIFY(view.outcomes()[0].cancelled);
    QVERIFY(view.outcomes()[0].steps < 100000);
    QCOMPARE(view.liveView()->image(), le::matToQImage(view.outcomes()[0].reconstruction));
    QVERIFY(view.invertButton()->isEnabled());
}

// Shows the view with the one checkpoint and inverts a procedural face through it.
void TestInversionView::invertFace(InversionView& view, const QString& checkpoint,
                                   quint64 faceSeed) {
    view.resize(1200, 900);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setImage(le::renderFace(le::FaceFactors::random(faceSeed), 32));
    view.setCheckpoints(le::scanCheckpoints({}, {checkpoint}));
    QSignalSpy finished(&view, &InversionView::inversionFinished);
    view.invert();
    QVERIFY(finished.wait(60000));
}

// A VQ-VAE-2's two levels come packed in one grid (top cells first): a cell of either level is
// named by its level, takes another code from the palette, and changes the decode.
void TestInversionView::shippedVqVae2EditsEitherLevel() {
    const QString ckpt = shipped("vqvae2_fashion-mnist.lec");
    if (!QFileInfo::exists(ckpt)) QSKIP("the shipped VQ-VAE-2 is not in LE_SOURCE_DIR");
    InversionView view;
    invertFace(view, ckpt, 3);
    if (QTest::currentTestFailed()) return;
    const le::InversionOutcome outcome = view.outcomes()[0];
    QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
    QCOMPARE(int(outcome.codeLevels.size()), 2);
    QCOMPARE(outcome.codeRows * outcome.codeCols,
             int(outcome.codeLevels[0].cells() + outcome.codeLevels[1].cells()));

    le::CodeGridEditor* editor = view.codeEditor();
    QTRY_VERIFY_WITH_TIMEOUT(editor->paletteReady(), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
    const QImage original = editor->editedView()->image();
    le::CodeGridWidget* grid = editor->gridWidget();
    QListWidget* palette = editor->paletteList();
    const int k = editor->codebookSize(), cols = outcome.codeCols;
    // Row 0 holds top cells; the last packed row is the bottom grid's last row.
    for (const auto& [row, level] :
         {std::pair<int, QString>{0, "top grid"},
          std::pair<int, QString>{outcome.codeRows - 4, "bottom grid"}}) {
        const int col = 3, index = row * cols + col;
        QTest::mouseClick(grid, Qt::LeftButton, {}, grid->cellRect(row, col).center());
        QCOMPARE(editor->selectedCell(), index);
        QVERIFY2(editor->statusText().contains(level), qPrintable(editor->statusText()));
        const int other = (outcome.codes[index] + k / 2) % k;
        palette->scrollToItem(palette->item(other));
        QTest::mouseClick(palette->viewport(), Qt::LeftButton, {},
                          palette->visualItemRect(palette->item(other)).center());
        QCOMPARE(editor->codes()[index], other);
        QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
        QVERIFY2(editor->editedView()->image() != original, qPrintable(level));
        QTest::keyClick(grid, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(editor->codes(), outcome.codes);
        QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
        QCOMPARE(editor->editedView()->image(), original);
    }
}

void TestInversionView::shippedVqVaeCodeGridIsEditable() {
    const QString ckpt = shipped("vqvae_faces.lec");
    if (!QFileInfo::exists(ckpt)) QSKIP("the shipped VQ-VAE is not in LE_SOURCE_DIR");
    InversionView view;
    invertFace(view, ckpt, 7);
    if (QTest::currentTestFailed()) return;
    const le::InversionOutcome outcome = view.outcomes()[0];
    QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));

    le::CodeGridEditor* editor = view.codeEditor();
    QVERIFY(editor->isVisible());
    QCOMPARE(editor->codes(), outcome.codes);
    QTRY_VERIFY_WITH_TIMEOUT(editor->paletteReady(), 30000);
    const int k = editor->codebookSize();
    QCOMPARE(editor->paletteList()->count(), k);
    QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
    const QImage original = editor->editedView()->image();
    QCOMPARE(original.size(), QSize(32, 32));
    // The editor's own decode of the encoded grid is the inversion's reconstruction.
    const double reconDiff =
        differenceInside(original, view.reconstructionView(0)->image(), {}).second;
    QVERIFY2(reconDiff <= 32 * 32 * 3, qPrintable(QString::number(reconDiff)));

    // Select a cell by clicking it on the grid widget; the palette shows its code.
    le::CodeGridWidget* grid = editor->gridWidget();
    const int cols = outcome.codeCols, row = 3, col = 4, index = row * cols + col;
    QTest::mouseClick(grid, Qt::LeftButton, {}, grid->cellRect(row, col).center());
    QCOMPARE(editor->selectedCell(), index);
    QListWidget* palette = editor->paletteList();
    QCOMPARE(palette->currentRow(), outcome.codes[index]);

    // Pick another code in the palette: the cell takes it and the decode follows.
    const int other = (outcome.codes[index] + k / 2) % k;
    palette->scrollToItem(palette->item(other));
    QTest::mouseClick(palette->viewport(), Qt::LeftButton, {},
                      palette->visualItemRect(palette->item(other)).center());
    QCOMPARE(editor->codes()[index], other);
    for (int i = 0; i < outcome.codes.size(); ++i)
        if (i != index) QCOMPARE(editor->codes()[i], outcome.codes[i]);
    QCOMPARE(grid->codes()[index], other);
    QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
    const QImage edited = editor->editedView()->image();
    // The cell covers 4×4 pixels; the decoder's reach adds a margin of a few pixels.
    const QRect near(col * 4 - 6, row * 4 - 6, 16, 16);
    const auto [inside, total] = differenceInside(original, edited, near);
    qInfo("one cell %d -> %d: |change| %.0f in all, %.0f%% near the cell", outcome.codes[index],
          other, total, 100 * inside / std::max(1.0, total));
    QVERIFY(total > 0);
    QVERIFY2(inside >= 0.7 * total, qPrintable(QString("%1 of %2").arg(inside).arg(total)));
    QCOMPARE(editor->originalView()->image(), original);
    QVERIFY(!editor->differenceView()->image().isNull());
    QVERIFY(editor->undoButton()->isEnabled());

    // Ctrl+Z restores the codes and the image.
    QTest::keyClick(grid, Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(editor->codes(), outcome.codes);
    QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
    QCOMPARE(editor->editedView()->image(), original);
    QVERIFY(!editor->undoButton()->isEnabled());

    // Paint: Ctrl+B, choose the brush, drag along the top row; one undo step takes it back.
    QTest::keyClick(grid, Qt::Key_B, Qt::ControlModifier);
    QVERIFY(editor->paintMode());
    palette->scrollToItem(palette->item(other));
    QTest::mouseClick(palette->viewport(), Qt::LeftButton, {},
                      palette->visualItemRect(palette->item(other)).center());
    QCOMPARE(editor->currentCode(), other);
    QCOMPARE(editor->codes(), outcome.codes);  // choosing a brush edits nothing
    QTest::mousePress(grid, Qt::LeftButton, {}, grid->cellRect(0, 0).center());
    for (int c = 1; c < 4; ++c) QTest::mouseMove(grid, grid->cellRect(0, c).center());
    QTest::mouseRelease(grid, Qt::LeftButton, {}, grid->cellRect(0, 3).center());
    for (int c = 0; c < 4; ++c) QCOMPARE(editor->codes()[c], other);
    for (int i = 4; i < outcome.codes.size(); ++i) QCOMPARE(editor->codes()[i], outcome.codes[i]);
    QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
    QVERIFY(editor->editedView()->image() != original);

    // Reset goes back to the encoded grid, and is undone like any edit.
    const QVector<int> painted = editor->codes();
    QTest::mouseClick(editor->resetButton(), Qt::LeftButton);
    QCOMPARE(editor->codes(), outcome.codes);
    QTest::keyClick(grid, Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(editor->codes(), painted);
    QTest::keyClick(grid, Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(editor->codes(), outcome.codes);
    QTRY_COMPARE_WITH_TIMEOUT(editor->shownDecode(), editor->requestedDecode(), 30000);
    QCOMPARE(editor->editedView()->image(), original);
}

void TestInversionView::codeUsageHistogramCountsDeadCodes() {
    const QString ckpt = shipped("vqvae_faces.lec");
    if (!QFileInfo::exists(ckpt)) QSKIP("the shipped VQ-VAE is not in LE_SOURCE_DIR");
    InversionView view;
    invertFace(view, ckpt, 8);
    if (QTest::currentTestFailed()) return;
    le::CodeGridEditor* editor = view.codeEditor();
    QTRY_VERIFY_WITH_TIMEOUT(!editor->usage().counts.isEmpty(), 120000);
    const le::CodeUsage usage = editor->usage();
    QVERIFY2(usage.error.isEmpty(), qPrintable(usage.error));
    const int k = editor->codebookSize();
    QCOMPARE(usage.counts.size(), k);
    QVERIFY(usage.images >= 100);

    // An independent count over the same held-out images.
    le::LoadedCheckpoint loaded = le::loadCheckpoint(ckpt);
    auto& vq = dynamic_cast<le::VqVae&>(*loaded.model);
    vq.train(false);
    const le::Dataset& faces = le::DatasetCache::instance().get(QStringLiteral("faces"));
    // In the job's batches: a code chosen by a near tie must not depend on the batch size.
    std::vector<torch::Tensor> codes;
    {
        torch::NoGradGuard noGrad;
        for (int first = 0; first < usage.images; first += le::CodeGridJob::kUsageBatch)
            codes.push_back(
                vq
                    .encodeCodes(faces.test.images.slice(
                        0, first, std::min(usage.images, first + le::CodeGridJob::kUsageBatch)))
                    .flatten());
    }
    const torch::Tensor expected = torch::bincount(torch::cat(codes), {}, k);
    int expectedDead = 0;
    for (int c = 0; c < k; ++c) {
        QCOMPARE(usage.counts[c], expected[c].item<int64_t>());
        expectedDead += expected[c].item<int64_t>() == 0;
    }
    qInfo("%d of %d codes dead over %d held-out faces", expectedDead, k, usage.images);
    QCOMPARE(editor->usedBars()->dataCount() + editor->deadBars()->dataCount(), k);
    QCOMPARE(editor->deadBars()->dataCount(), expectedDead);
    QCOMPARE(usage.deadCodes(), expectedDead);
    QVERIFY2(editor->usageTitle().contains(
                 QStringLiteral("%1 of %2 codes dead").arg(expectedDead).arg(k)),
             qPrintable(editor->usageTitle()));
    QVERIFY(editor->usagePlot()->xAxis->label().contains(QString::number(usage.images)));

    // Clicking a bar chooses that code in the palette (the plot is by index).
    QCustomPlot* plot = editor->usagePlot();
    plot->replot();
    const int code = k / 3;
    const QPoint at(int(plot->xAxis->coordToPixel(code)),
                    int(plot->yAxis->coordToPixel(plot->yAxis->range().upper / 2)));
    QTest::mouseClick(plot, Qt::LeftButton, {}, at);
    QCOMPARE(editor->currentCode(), code);
    QCOMPARE(editor->paletteList()->currentRow(), code);

    // Sorted: the bars run from the most used code down.
    editor->setUsageSorted(true);
    QCOMPARE(editor->usedBars()->dataCount() + editor->deadBars()->dataCount(), k);
    double previous = std::numeric_limits<double>::infinity();
    for (auto it = editor->usedBars()->data()->constBegin();
         it != editor->usedBars()->data()->constEnd(); ++it) {
        QVERIFY(it->value <= previous);
        previous = it->value;
    }
}

QTEST_MAIN(TestInversionView)
#include "tst_inversion_view.moc"
