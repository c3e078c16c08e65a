#include "ui/widgets/series_colours.h"

#include <iterator>

namespace le {
namespace {

const QColor kPalette[] = {QColor(0x4E, 0x79, 0xA7), QColor(0xE1, 0x57, 0x59),
                           QColor(0x59, 0xA1, 0x4F), QColor(0xF2, 0x8E, 0x2B),
                           QColor(0xB0, 0x7A, 0xA1), QColor(0x76, 0xB7, 0xB2),
                           QColor(0xED, 0xC9, 0x48), QColor(0x9C, 0x75, 0x5F),
                           QColor(0xFF, 0x9D, 0xA7), QColor(0xBA, 0xB0, 0xAC)};

}  // namespace

int seriesColourCount() {
    return int(std::size(kPalette));
}

QColor seriesColour(int index) {
    const int n = seriesColourCount();
    return kPalette[((index % n) + n) % n];
}

}  // namespace le
