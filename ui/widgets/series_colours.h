#pragma once

#include <QColor>

namespace le {

// The colour of the index-th model or run in a view (Tableau 10). Every view that lists the models
// of a dataset numbers them in the same order, so a model keeps its colour from view to view; ten
// colours cover the seven families with room for a user's own files before the cycle repeats.
QColor seriesColour(int index);

// How many distinct colours seriesColour cycles through.
int seriesColourCount();

}  // namespace le
