# Reference fixtures for CareGrid's EARS and CUSUM (src/modules/surveillance/algorithms/{ears,cusum}.ts),
# computed by R's `surveillance` package, the reference implementation, on public data sets that ship with it.
#
# Run from the repository root (R ≥ 4 with the packages surveillance and jsonlite; Debian: apt-get install
# r-cran-surveillance r-cran-jsonlite):
#
#     Rscript scripts/r/surveillance-fixtures.R
#
# It writes test/fixtures/surveillance/ears.json and cusum.json (generated files: do not edit, re-run this script).
# Each file holds the series (counts, frequency, start date, where they come from) and the cases: a detection job
# as `caregrid detect` takes it (method, from, to, params with R's control names) and R's result per evaluated
# point (date, observed, upperbound, alarm; R's NA/NaN written as null).
#
# How a series becomes an R `sts`: sts(observed = counts, start = c(year, n), frequency = f) with f = 52 and n the
# ISO week of the start date for weekly series, f = 365 and n the day of the year for daily ones — the same
# convention as seasonOf() in src/modules/surveillance/algorithms/dates.ts (it matters only for cusum's m = "glm").
#
# Where R stops instead of returning NA: earsC refuses a range whose first point lacks a full baseline ("The vector
# of observed is too short!"). CareGrid returns null for those points and goes on, so for a case whose `from` is
# earlier than R accepts, R is run from the first point it accepts and the earlier points are written as null
# (the case says so in `note`).

suppressPackageStartupMessages({
  library(surveillance)
  library(jsonlite)
})

out_dir <- file.path("test", "fixtures", "surveillance")
stopifnot(dir.exists(out_dir))

# ---- the series -------------------------------------------------------------------------------------------------

series <- list()
add_series <- function(name, counts, start, frequency, source) {
  start <- as.Date(start)
  if (frequency == "weekly") stopifnot(format(start, "%u") == "1") # weekly series start on a Monday
  series[[name]] <<- list(source = source, frequency = frequency, start = format(start), counts = as.integer(counts))
}

# weekly Salmonella Newport cases in Germany, 2001-2015, by week of report (one column)
data(stsNewport)
add_series("stsNewport", observed(stsNewport)[, 1], epoch(stsNewport)[1], "weekly",
  "surveillance::stsNewport (Salmonella Newport, Germany, weekly, 2001-2015)")

# weekly Salmonella Newport, 2004-2013, summed over the 16 federal states
data(salmNewport)
add_series("salmNewport", rowSums(observed(salmNewport)), epoch(salmNewport)[1], "weekly",
  "surveillance::salmNewport, summed over the 16 federal states (weekly, 2004-2013)")

# weekly campylobacteriosis cases in Germany, 2002-2011 (counts in the hundreds)
data(campyDE)
add_series("campyDE", campyDE$case, campyDE$date[1], "weekly",
  "surveillance::campyDE$case (campylobacteriosis, Germany, weekly, 2002-2011)")

# weekly abattoir data (sts without dates, starting in week 1 of 2006: the Monday 2006-01-02)
data(abattoir)
add_series("abattoir", observed(abattoir)[, 1], "2006-01-02", "weekly",
  "surveillance::abattoir (weekly, from week 1 of 2006)")

# daily hospitalisations of the 2011 STEC O104:H4 outbreak (HUS cases by day of hospitalisation), with two weeks of
# zeros on either side of the first and last case, so the series has the flat stretches of real daily data
data(husO104Hosp)
days <- seq(min(husO104Hosp$dHosp) - 14, max(husO104Hosp$dHosp) + 14, by = "day")
add_series("husO104Hosp", as.vector(table(factor(format(husO104Hosp$dHosp), levels = format(days)))), days[1], "daily",
  "surveillance::husO104Hosp, cases counted per day of hospitalisation (daily, May-July 2011), 14 days of zeros added before and after")

as_sts <- function(s) {
  d <- as.Date(s$start)
  if (s$frequency == "weekly") {
    sts(observed = s$counts, start = c(as.integer(format(d, "%G")), as.integer(format(d, "%V"))), frequency = 52)
  } else {
    sts(observed = s$counts, start = c(as.integer(format(d, "%Y")), as.integer(format(d, "%j"))), frequency = 365)
  }
}

date_at <- function(s, i) { # i is 1-based
  format(as.Date(s$start) + (i - 1) * if (s$frequency == "weekly") 7 else 1)
}

# ---- running a case ---------------------------------------------------------------------------------------------

points_of <- function(s, range, upperbound, alarm) {
  lapply(seq_along(range), function(j) list(
    date = date_at(s, range[j]),
    observed = s$counts[range[j]],
    upperbound = if (is.na(upperbound[j])) NULL else upperbound[j],
    alarm = if (is.na(alarm[j])) NULL else as.logical(alarm[j]) # cusum stores 0/1
  ))
}

case <- function(name, series_name, method, from, to, params, points, note = NULL) {
  s <- series[[series_name]]
  c(list(name = name, series = series_name, method = method, from = date_at(s, from), to = date_at(s, to),
         params = if (length(params)) params else structure(list(), names = character(0)), points = points),
    if (!is.null(note)) list(note = note))
}

# earsC: `params` uses R's control names; `method` comes from the job's method (earsC1 → "C1").
ears_case <- function(name, series_name, method, from, to, params = list()) {
  s <- series[[series_name]]
  baseline <- if (is.null(params$baseline)) 7 else params$baseline
  maxLag <- switch(method, earsC1 = baseline, earsC2 = baseline + 2, earsC3 = baseline + 4)
  first_ok <- max(from, maxLag + 1) # the first point R accepts
  range <- first_ok:to
  res <- earsC(as_sts(s), control = c(list(range = range, method = sub("ears", "", method)), params))
  pts <- points_of(s, range, upperbound(res)[, 1], alarms(res)[, 1])
  note <- NULL
  if (first_ok > from) {
    early <- from:(first_ok - 1)
    pts <- c(points_of(s, early, rep(NA, length(early)), rep(NA, length(early))), pts)
    note <- sprintf("R refuses a range starting before %s (too short for the baseline); CareGrid returns null for the %d points before", date_at(s, first_ok), length(early))
  }
  case(name, series_name, method, from, to, params, pts, note)
}

cusum_case <- function(name, series_name, from, to, params = list()) {
  s <- series[[series_name]]
  stopifnot(from > 1) # R takes m from observed[1:(from - 1)]; from = 1 has nothing before it (see cusum.ts)
  range <- from:to
  res <- cusum(as_sts(s), control = c(list(range = range), params))
  case(name, series_name, "cusum", from, to, params, points_of(s, range, upperbound(res)[, 1], alarms(res)[, 1]))
}

n_of <- function(name) length(series[[name]]$counts)

# ---- EARS -------------------------------------------------------------------------------------------------------

ears <- list(
  # R's defaults, from the first week (so the first points have no baseline)
  ears_case("stsNewport C1 defaults, from the first week", "stsNewport", "earsC1", 1, 260),
  ears_case("stsNewport C2 defaults, from the first week", "stsNewport", "earsC2", 1, 260),
  ears_case("stsNewport C3 defaults, from the first week", "stsNewport", "earsC3", 1, 260),
  # alpha, baseline and minSigma variants
  ears_case("salmNewport C1 alpha 0.05", "salmNewport", "earsC1", 8, 300, list(alpha = 0.05)),
  ears_case("salmNewport C2 baseline 14 alpha 0.01", "salmNewport", "earsC2", 17, 300, list(baseline = 14, alpha = 0.01)),
  ears_case("salmNewport C3 alpha 0.001 minSigma 1", "salmNewport", "earsC3", 12, 300, list(alpha = 0.001, minSigma = 1)),
  ears_case("salmNewport C3 baseline 3", "salmNewport", "earsC3", 1, 200, list(baseline = 3)),
  ears_case("campyDE C1 baseline 28", "campyDE", "earsC1", 29, 400, list(baseline = 28)),
  ears_case("campyDE C2 alpha 0.025 minSigma 50", "campyDE", "earsC2", 10, 400, list(alpha = 0.025, minSigma = 50)),
  ears_case("campyDE C3 defaults", "campyDE", "earsC3", 12, 400),
  ears_case("abattoir C1 baseline 3", "abattoir", "earsC1", 1, n_of("abattoir"), list(baseline = 3)),
  ears_case("abattoir C3 baseline 10 alpha 0.05", "abattoir", "earsC3", 15, n_of("abattoir"), list(baseline = 10, alpha = 0.05)),
  # daily data with flat stretches: zero spread (C3 then gives NaN where minSigma = 0)
  ears_case("husO104Hosp C1 defaults", "husO104Hosp", "earsC1", 1, n_of("husO104Hosp")),
  ears_case("husO104Hosp C2 defaults", "husO104Hosp", "earsC2", 1, n_of("husO104Hosp")),
  ears_case("husO104Hosp C3 defaults", "husO104Hosp", "earsC3", 1, n_of("husO104Hosp")),
  ears_case("husO104Hosp C1 minSigma 0.5", "husO104Hosp", "earsC1", 8, n_of("husO104Hosp"), list(minSigma = 0.5)),
  ears_case("husO104Hosp C3 minSigma 0.5 alpha 0.05", "husO104Hosp", "earsC3", 12, n_of("husO104Hosp"), list(minSigma = 0.5, alpha = 0.05))
)

# ---- CUSUM ------------------------------------------------------------------------------------------------------

cusum_cases <- list(
  cusum_case("stsNewport defaults (standard, m = mean before the range)", "stsNewport", 105, 260),
  cusum_case("stsNewport rossi", "stsNewport", 105, 260, list(trans = "rossi")),
  cusum_case("stsNewport anscombe k 0.5 h 4", "stsNewport", 105, 260, list(trans = "anscombe", k = 0.5, h = 4)),
  cusum_case("stsNewport anscombe2nd", "stsNewport", 105, 260, list(trans = "anscombe2nd")),
  cusum_case("stsNewport pearsonNegBin alpha 0.2", "stsNewport", 105, 260, list(trans = "pearsonNegBin", alpha = 0.2)),
  cusum_case("stsNewport anscombeNegBin", "stsNewport", 105, 260, list(trans = "anscombeNegBin")),
  cusum_case("stsNewport none h 20", "stsNewport", 105, 260, list(trans = "none", h = 20)),
  cusum_case("stsNewport standard m = glm", "stsNewport", 157, 320, list(m = "glm")),
  cusum_case("stsNewport rossi m = glm", "stsNewport", 157, 320, list(m = "glm", trans = "rossi")),
  cusum_case("salmNewport standard m = 1.5", "salmNewport", 53, 200, list(m = 1.5)),
  cusum_case("salmNewport pearsonNegBin m = glm", "salmNewport", 105, 300, list(m = "glm", trans = "pearsonNegBin", alpha = 0.05)),
  cusum_case("campyDE anscombe m = glm k 2 h 6", "campyDE", 157, 400, list(m = "glm", trans = "anscombe", k = 2, h = 6)),
  cusum_case("campyDE anscombeNegBin alpha 0.01 (2F1 interpolated below -10)", "campyDE", 53, 200, list(trans = "anscombeNegBin", alpha = 0.01)),
  cusum_case("campyDE anscombeNegBin alpha 0.1 (2F1 beyond R's table: NA)", "campyDE", 53, 200, list(trans = "anscombeNegBin", alpha = 0.1)),
  cusum_case("campyDE standard k 0", "campyDE", 53, 200, list(k = 0)),
  cusum_case("abattoir defaults", "abattoir", 53, n_of("abattoir")),
  cusum_case("abattoir anscombe2nd m = glm", "abattoir", 53, n_of("abattoir"), list(m = "glm", trans = "anscombe2nd")),
  cusum_case("husO104Hosp standard, daily, m = glm", "husO104Hosp", 40, n_of("husO104Hosp"), list(m = "glm")),
  cusum_case("husO104Hosp anscombeNegBin m = 2", "husO104Hosp", 15, n_of("husO104Hosp"), list(trans = "anscombeNegBin", m = 2)),
  cusum_case("husO104Hosp rossi from the second day (m = 0: NaN sums)", "husO104Hosp", 2, n_of("husO104Hosp"), list(trans = "rossi")),
  cusum_case("husO104Hosp pearsonNegBin from the outbreak", "husO104Hosp", 25, n_of("husO104Hosp"), list(trans = "pearsonNegBin"))
)

write_fixture <- function(file, cases) {
  used <- unique(vapply(cases, function(x) x$series, ""))
  doc <- list(
    generatedBy = "scripts/r/surveillance-fixtures.R — generated, do not edit",
    R = paste(R.version$major, R.version$minor, sep = "."),
    surveillance = as.character(packageVersion("surveillance")),
    series = series[used],
    cases = cases
  )
  writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE), file.path(out_dir, file))
  cat(sprintf("%s: %d cases, %d points\n", file, length(cases), sum(vapply(cases, function(x) length(x$points), 0L))))
}

write_fixture("ears.json", ears)
write_fixture("cusum.json", cusum_cases)
