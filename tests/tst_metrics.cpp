// The radially averaged power spectrum and its high-frequency share, on images whose spectra are
// known: white noise is flat, a blurred image loses its high frequencies, a constant has none.

#include "core/errors.h"
#include "core/metrics/metrics.h"

#include <QtTest>

class TestMetrics : public QObject {
    Q_OBJECT

private slots:
    void spectrumHasOneBinPerRadius_data();
    void spectrumHasOneBinPerRadius();
    void whiteNoiseIsFlat();
    void blurLowersTheHighFrequencyShare();
    void constantImagesHaveNoPower();
    void emptyBatchIsRefused();
};

void TestMetrics::spectrumHasOneBinPerRadius_data() {
    QTest::addColumn<int>("channels");
    QTest::addColumn<int>("height");
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("bins");
    QTest::newRow("grey 28x28") << 1 << 28 << 28 << 15;
    QTest::newRow("RGB 32x32") << 3 << 32 << 32 << 17;
    QTest::newRow("grey 16x24: the shorter side") << 1 << 16 << 24 << 9;
}

void TestMetrics::spectrumHasOneBinPerRadius() {
    QFETCH(int, channels);
    QFETCH(int, height);
    QFETCH(int, width);
    QFETCH(int, bins);
    torch::manual_seed(1);
    const auto spectrum =
        le::radialPowerSpectrum(torch::rand({3, channels, height, width}) * 2 - 1);
    QCOMPARE(int(spectrum.size()), bins);
    QVERIFY(spectrum[0] < 1e-9);  // each image's mean was removed
    for (size_t r = 1; r < spectrum.size(); ++r) QVERIFY(spectrum[r] > 0);
}

void TestMetrics::whiteNoiseIsFlat() {
    torch::manual_seed(2);
    const auto spectrum = le::radialPowerSpectrum(torch::rand({64, 1, 32, 32}) * 2 - 1);
    // Every radius carries about the same power, so the outer half of the radii about half.
    const double share = le::highFrequencyShare(spectrum);
    QVERIFY2(share > 0.4 && share < 0.6, qPrintable(QString::number(share)));
    const double ratio = spectrum[16] / spectrum[2];
    QVERIFY2(ratio > 0.6 && ratio < 1.6, qPrintable(QString::number(ratio)));
}

void TestMetrics::blurLowersTheHighFrequencyShare() {
    torch::manual_seed(3);
    const torch::Tensor sharp = torch::rand({16, 1, 32, 32}) * 2 - 1;
    // A 3×3 box blur: a low-pass filter.
    const torch::Tensor blurred =
        torch::avg_pool2d(torch::replication_pad2d(sharp, {1, 1, 1, 1}), 3, 1);
    const double sharpShare = le::highFrequencyShare(le::radialPowerSpectrum(sharp));
    const double blurredShare = le::highFrequencyShare(le::radialPowerSpectrum(blurred));
    QVERIFY2(blurredShare < 0.5 * sharpShare,
             qPrintable(QStringLiteral("%1 vs %2").arg(blurredShare).arg(sharpShare)));
    QVERIFY(le::meanSharpness(blurred) < le::meanSharpness(sharp));  // the two measures agree
}

void TestMetrics::constantImagesHaveNoPower() {
    const auto spectrum = le::radialPowerSpectrum(torch::full({2, 3, 16, 16}, 0.3));
    for (double p : spectrum) QVERIFY(p < 1e-12);
    QCOMPARE(le::highFrequencyShare(spectrum), 0.0);
}

void TestMetrics::emptyBatchIsRefused() {
    QVERIFY_THROWS_EXCEPTION(le::DataError, le::radialPowerSpectrum(torch::zeros({0, 1, 8, 8})));
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
