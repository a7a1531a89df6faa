# Reference fixtures for CareGrid's farringtonFlexible (src/modules/surveillance/algorithms/farrington.ts), its GLM
# (glm.ts) and distribution functions (distributions.ts), computed by R's `surveillance` package, the reference
# implementation, on public data sets that ship with it.
#
# Run from the repository root (R ≥ 4.2 with the packages surveillance and jsonlite; Debian: apt-get install
# r-cran-surveillance r-cran-jsonlite):
#
#     Rscript scripts/r/farrington-fixtures.R
#
# It writes test/fixtures/surveillance/farrington-flexible.json (generated: do not edit, re-run this script; about two
# minutes). Same layout as ears.json (see surveillance-fixtures.R): the series (counts, frequency, start, source) and
# the cases — a detection job as `caregrid detect` takes it (method, from, to, params with R's control names; R's
# defaults fill the rest) and R's result per point (date, observed, upperbound, alarm; NA written as null). Also:
# `defaults` (R's default control), `glm` (glm.fit results: coefficients, dispersion, hat values, a prediction's
# standard error) and `distributions` (qnbinom, qpois, pt, qnorm, lgamma at arguments like those the method meets).
#
# The series:
#   salmNewport   Salmonella Newport, Germany, weekly 2004–2013: the national total and one sparse state (Berlin)
#   campyDE       campylobacteriosis, Germany, weekly 2002–2011 (counts in the hundreds)
#   momo          deaths in Denmark, age group 75–84, weekly 1994–2008
#   stsNewport    Salmonella Newport, Germany, weekly 2001–2015 (by onset)
#   salmAllOnset  all Salmonella, Germany, weekly 2001–2015 (by onset; counts in the thousands)
#   ha.sts        hepatitis A, Berlin, weekly 2001–2006, all districts summed (few cases, many zeros; that sts has no
#                 dates: week 1 of 2001 is given its Monday 2001-01-01)
#   imdepi        invasive meningococcal disease, Germany 2002–2008, events counted per day (floor of the event time in
#                 days since 2002-01-01): a daily series; and the same for district 09187 alone, 4 cases in 7 years,
#                 whose baselines of only zeros make R's glm fail to converge (R's NA)
#
# How a series becomes an R `sts`: sts(observed = counts, epoch = the dates start + i weeks (or days), freq = 52 or
# 365), i.e. epochAsDate = TRUE, as salmNewport and the other dated data sets are. Farrington's reference weeks then
# go back calendar years (R's seq(by = "-1 year"), moved to the same weekday), not 52 rows.
#
# The cases: every setting below (R's defaults, Noufaily 2013's recommendation with nbPlugin and muan, Farrington
# 1996, the package vignette's, and variations of alpha, powertrans, b, w, trend, reweight, limit54, noPeriods,
# pastWeeksNotIncluded, populationOffset) on the last 52 weeks of every weekly series (24 for ha.sts), the daily
# settings on the last 60 / 121 days of the daily ones and around 29 February 2008; plus two cases from early in a
# series where R stops for the
# whole range ("Some reference time points did not exist"): R is run one point at a time there and a point where it
# stops is written as null, which is what CareGrid returns.
suppressPackageStartupMessages({
  library(surveillance)
  library(jsonlite)
})

series <- list()
last <- list() # points evaluated at the end of each series
add_series <- function(name, counts, start, frequency, source, n_last = 52) {
  start <- as.Date(start)
  if (frequency == "weekly") stopifnot(format(start, "%u") == "1") # weekly series start on a Monday
  series[[name]] <<- list(source = source, frequency = frequency, start = format(start), counts = as.integer(counts))
  last[[name]] <<- n_last
}

data(salmNewport)
add_series("salmNewport", rowSums(observed(salmNewport)), epoch(salmNewport)[1], "weekly", "salmNewport, all states")
add_series("salmNewportBerlin", observed(salmNewport)[, "Berlin"], epoch(salmNewport)[1], "weekly", "salmNewport, Berlin")
data(campyDE)
add_series("campyDE", campyDE$case, campyDE$date[1], "weekly", "campyDE$case")
data(momo)
add_series("momo75", observed(momo)[, "[75,85)"], epoch(momo)[1], "weekly", "momo, age 75-84")
data(stsNewport)
add_series("stsNewport", observed(stsNewport)[, 1], epoch(stsNewport)[1], "weekly", "stsNewport")
data(salmAllOnset)
add_series("salmAllOnset", observed(salmAllOnset)[, 1], epoch(salmAllOnset)[1], "weekly", "salmAllOnset")
data(ha.sts)
add_series("haBerlin", rowSums(observed(ha.sts)), "2001-01-01", "weekly", "ha.sts, all districts, week 1 of 2001 = 2001-01-01",
           n_last = 24)
data(imdepi)
days <- floor(imdepi$events$time)
add_series("imdepiDaily", tabulate(days + 1, nbins = 2557), "2002-01-01", "daily", "imdepi events per day, day 0 = 2002-01-01", n_last = 60)
# one district with 4 cases in 7 years: baselines of only zeros, where R's glm does not converge (alarm NA)
add_series("imdepi09187Daily", tabulate(days[imdepi$events$tile == "09187"] + 1, nbins = 2557), "2002-01-01", "daily",
           "imdepi events per day in district 09187, day 0 = 2002-01-01", n_last = 121)

to_sts <- function(s) {
  step <- if (s$frequency == "weekly") 7 else 1
  sts(observed = s$counts, epoch = as.Date(s$start) + step * (seq_along(s$counts) - 1),
      freq = if (s$frequency == "weekly") 52 else 365)
}

# Settings: R's defaults, Noufaily's recommendation (nbPlugin and muan), the original Farrington 1996 setting, and
# variations of each parameter. limit54 is a vector in R, an array in the job.
weekly_settings <- list(
  defaults = list(),
  noufaily = list(noPeriods = 10, pastWeeksNotIncluded = 26, weightsThreshold = 2.58, pThresholdTrend = 1, thresholdMethod = "nbPlugin"),
  noufailyMuan = list(noPeriods = 10, pastWeeksNotIncluded = 26, weightsThreshold = 2.58, pThresholdTrend = 1, thresholdMethod = "muan"),
  farrington1996 = list(noPeriods = 1, b = 5, w = 3, weightsThreshold = 1, pThresholdTrend = 0.05, thresholdMethod = "delta"),
  vignette = list(b = 4, w = 3, noPeriods = 1, weightsThreshold = 1, pastWeeksNotIncluded = 3, pThresholdTrend = 0.05, thresholdMethod = "delta"),
  alpha01half = list(alpha = 0.01, powertrans = "1/2"),
  alpha10none = list(alpha = 0.1, powertrans = "none"),
  b3w2noTrend = list(b = 3, w = 2, trend = FALSE),
  b2w4 = list(b = 2, w = 4),
  noReweight = list(reweight = FALSE, limit54 = c(3, 2)),
  periods4 = list(noPeriods = 4, pastWeeksNotIncluded = 1, thresholdMethod = "nbPlugin", alpha = 0.01),
  periods3muanNoTrend = list(noPeriods = 3, trend = FALSE, thresholdMethod = "muan", limit54 = c(0, 4)),
  populationOffset = list(populationOffset = TRUE, pThresholdTrend = 0.2)
)
daily_settings <- list(
  dailyDefaults = list(b = 3, w = 7, limit54 = c(1, 7)),
  dailyNoufaily = list(b = 4, w = 3, noPeriods = 10, pastWeeksNotIncluded = 26, pThresholdTrend = 1, thresholdMethod = "nbPlugin", limit54 = c(1, 7)),
  dailyNoufailyB3 = list(b = 3, w = 7, noPeriods = 10, pastWeeksNotIncluded = 26, pThresholdTrend = 1, thresholdMethod = "nbPlugin", limit54 = c(1, 7))
)

date_at <- function(s, i) format(as.Date(s$start) + (i - 1) * if (s$frequency == "weekly") 7 else 1) # i 1-based

points_of <- function(s, range, upperbound, alarm) {
  lapply(seq_along(range), function(j) list(
    date = date_at(s, range[j]), observed = s$counts[range[j]],
    upperbound = if (is.na(upperbound[j])) NULL else upperbound[j],
    alarm = if (is.na(alarm[j])) NULL else alarm[j]
  ))
}

json_params <- function(params) {
  if (length(params)) lapply(params, function(v) if (length(v) > 1) I(v) else v) else structure(list(), names = character(0))
}

case <- function(name, series_name, range, params, points, note = NULL) {
  s <- series[[series_name]]
  c(list(name = name, series = series_name, method = "farringtonFlexible", from = date_at(s, min(range)),
         to = date_at(s, max(range)), params = json_params(params), points = points),
    if (!is.null(note)) list(note = note))
}

cases <- list()
for (name in names(series)) {
  s <- series[[name]]
  settings <- if (s$frequency == "weekly") weekly_settings else daily_settings
  n <- length(s$counts)
  range <- (n - last[[name]] + 1):n
  for (setting in names(settings)) {
    params <- settings[[setting]]
    res <- suppressWarnings(farringtonFlexible(to_sts(s), control = c(list(range = range), params)))
    cases[[length(cases) + 1]] <- case(paste(name, setting), name, range, params,
                                       points_of(s, range, upperbound(res)[, 1], alarms(res)[, 1]))
  }
}

# From the first week: R stops for a whole range whose first point lacks b years of history ("Some reference time
# points did not exist"), so R is run one point at a time and a point where it stops is written as null (CareGrid
# returns null there and goes on). The first points R accepts have their oldest window cut by the series start.
one_by_one <- function(name, series_name, range, params) {
  s <- series[[series_name]]
  st <- to_sts(s)
  stopped <- 0
  pts <- lapply(range, function(k) {
    res <- tryCatch(suppressWarnings(farringtonFlexible(st, control = c(list(range = k), params))), error = function(e) NULL)
    if (is.null(res)) stopped <<- stopped + 1
    if (is.null(res)) points_of(s, k, NA, NA)[[1]] else points_of(s, k, upperbound(res)[, 1], alarms(res)[, 1])[[1]]
  })
  case(name, series_name, range, params, pts,
       note = sprintf("R stops for %d of these points (too little history); run one point at a time, those are null", stopped))
}
# 29 February: a year back is 1 March (R's seq(by = "-1 year"))
leap <- which(as.Date(series$imdepiDaily$start) + seq_along(series$imdepiDaily$counts) - 1 == as.Date("2008-02-29"))
for (setting in c("dailyDefaults", "dailyNoufaily")) {
  params <- daily_settings[[setting]]
  range <- (leap - 10):(leap + 10)
  res <- suppressWarnings(farringtonFlexible(to_sts(series$imdepiDaily), control = c(list(range = range), params)))
  cases[[length(cases) + 1]] <- case(paste("imdepiDaily", setting, "around 29 February 2008"), "imdepiDaily", range, params,
                                     points_of(series$imdepiDaily, range, upperbound(res)[, 1], alarms(res)[, 1]))
}
cases[[length(cases) + 1]] <- one_by_one("salmNewport defaults, from the first week", "salmNewport", 1:300, list())
cases[[length(cases) + 1]] <- one_by_one("campyDE noufaily, from week 250", "campyDE", 250:300, weekly_settings$noufaily)

# Distribution functions at arguments like those the thresholds and the trend test meet.
qnb_args <- expand.grid(p = c(0.95, 0.99, 0.9, 0.999, 0.5), mu = c(1e-4, 0.03, 0.7, 2.5, 11.2, 84.3, 1250.7),
                        phi = c(1 + 1e-6, 1.013, 1.7, 3.9, 22.5))
qnb <- with(qnb_args, cbind(p, mu / (phi - 1), 1 / phi, qnbinom(p, mu / (phi - 1), 1 / phi)))
qp_args <- expand.grid(p = c(0.95, 0.99, 0.9, 0.999, 0.5), lambda = c(1e-5, 0.04, 0.9, 3.2, 17.4, 210.9, 2480.3))
qp <- with(qp_args, cbind(p, lambda, qpois(p, lambda)))
pt_args <- expand.grid(t = c(-12.3, -3.1, -2.02, -1.96, -0.7, -1e-3, 0, 0.4, 1.2, 2.7, 8.8), df = c(1, 2.5, 5, 12, 33, 118, 517))
ptv <- with(pt_args, cbind(t, df, pt(t, df)))
qn <- cbind(p = c(1e-10, 0.001, 0.01, 0.05, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1 - 1e-9), q = 0)
qn[, 2] <- qnorm(qn[, 1])
lg <- cbind(x = c(1e-8, 0.1, 0.5, 1, 1.5, 2, 3.7, 14.9, 15.1, 33.3, 250.5, 1e5), v = 0)
lg[, 2] <- lgamma(lg[, 1])

# GLM fits on their own (glm.ts): quasi-Poisson, log link, as algo.farrington.fitGLM.flexible calls glm.
glm_case <- function(name, y, X, weights = NULL, x0 = NULL) {
  m <- suppressWarnings(glm.fit(X, y, weights = weights, family = quasipoisson(link = "log")))
  class(m) <- c("glm", "lm")
  disp <- if (m$df.residual > 0) sum((m$weights * m$residuals^2)[m$weights > 0]) / m$df.residual else NaN
  V <- chol2inv(m$R)[order(m$qr$pivot), order(m$qr$pivot)]
  list(name = name, x = unname(split(X, col(X))), y = y, weights = weights, converged = m$converged,
       coefficients = I(unname(m$coefficients)), dispersion = disp, hat = unname(hatvalues(m)),
       x0 = I(x0), seLink = if (!is.null(x0)) sqrt(drop(t(x0) %*% V %*% x0) * disp))
}
sn <- series$salmNewport$counts
cp <- series$campyDE$counts
ha <- series$haBerlin$counts
glms <- list(
  glm_case("salmNewport weeks 1-35, 1 + wtime", sn[1:35], cbind(1, 0:34), x0 = c(1, 40)),
  glm_case("campyDE weeks 1-120, 1 + wtime + 4 blocks, unequal weights", cp[1:120],
           cbind(1, 0:119, outer((0:119) %/% 30, 1:3, "==") * 1), weights = 1 / (1 + (0:119) %% 3), x0 = c(1, 125, 0, 0, 1)),
  glm_case("haBerlin weeks 200-289, 1 + wtime", ha[200:289], cbind(1, 0:89), x0 = c(1, 95)),
  glm_case("35 zeros, intercept only (converges in 24 iterations)", rep(0, 35), matrix(1, 35, 1), x0 = 1),
  glm_case("250 zeros, intercept only (no convergence in 25 iterations)", rep(0, 250), matrix(1, 250, 1), x0 = 1)
)

out <- list(
  generatedBy = "scripts/r/farrington-fixtures.R — generated, do not edit",
  R = paste(R.version$major, R.version$minor, sep = "."),
  surveillance = as.character(packageVersion("surveillance")),
  series = series,
  defaults = eval(formals(farringtonFlexible)$control)[-1],  # without range
  cases = cases,
  glm = glms,
  distributions = list(
    qnbinom = unname(split(qnb, row(qnb))), qpois = unname(split(qp, row(qp))), pt = unname(split(ptv, row(ptv))),
    qnorm = unname(split(qn, row(qn))), lgamma = unname(split(lg, row(lg)))
  )
)
dir.create("test/fixtures/surveillance", recursive = TRUE, showWarnings = FALSE)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null"), "test/fixtures/surveillance/farrington-flexible.json")
cat("cases:", length(cases), " points:", sum(sapply(cases, function(x) length(x$points))), "\n")
