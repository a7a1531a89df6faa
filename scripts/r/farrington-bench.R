# R's side of the farringtonFlexible benchmark (bench/detect.ts, `npm run bench -- detect`): builds the batch of 100
# weekly detection jobs from public data sets of the surveillance package, times R's farringtonFlexible on them and
# writes R's results, so the benchmark can time `caregrid detect` on the same jobs and compare every point.
#
#     Rscript scripts/r/farrington-bench.R DIR        # writes DIR/jobs.json and DIR/r-results.json
#
# R ≥ 4.2 with surveillance and jsonlite (Debian: apt-get install r-cran-surveillance r-cran-jsonlite).
#
# The jobs: 29 weekly series — salmNewport (16 federal states and their total, 2004–2013), momo (8 age groups,
# Denmark 1994–2008), campyDE, stsNewport, salmAllOnset, salmHospitalized — and the same series cut 39, 78 and 117
# weeks before their end, in that order until there are 100. Each job is evaluated over its last 52 weeks with
# farringtonFlexible's defaults (params {}). A series becomes an sts with its dates (epochAsDate), as in
# farrington-fixtures.R. Only the farringtonFlexible calls are timed (one run, `proc.time` elapsed).
suppressPackageStartupMessages({
  library(surveillance)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 1, dir.exists(args[1]))
out_dir <- args[1]

base <- list()
add <- function(name, counts, start) base[[name]] <<- list(name = name, counts = as.integer(counts), start = as.Date(start))
data(salmNewport)
for (state in colnames(salmNewport)) add(paste("salmNewport", state), observed(salmNewport)[, state], epoch(salmNewport)[1])
add("salmNewport total", rowSums(observed(salmNewport)), epoch(salmNewport)[1])
data(momo)
for (age in colnames(momo)) add(paste("momo", age), observed(momo)[, age], epoch(momo)[1])
data(campyDE)
add("campyDE", campyDE$case, campyDE$date[1])
for (name in c("stsNewport", "salmAllOnset", "salmHospitalized")) {
  e <- new.env()
  data(list = name, envir = e)
  s <- get(name, envir = e)
  add(name, observed(s)[, 1], epoch(s)[1])
}

jobs <- list()
for (cut in c(0, 39, 78, 117)) {
  for (s in base) {
    if (length(jobs) == 100) break
    n <- length(s$counts) - cut
    jobs[[length(jobs) + 1]] <- list(
      name = if (cut) sprintf("%s, cut %d weeks before the end", s$name, cut) else s$name,
      method = "farringtonFlexible", frequency = "weekly", start = format(s$start), counts = s$counts[1:n],
      from = format(s$start + 7 * (n - 52)), to = format(s$start + 7 * (n - 1)),
      params = structure(list(), names = character(0))
    )
  }
}
stopifnot(length(jobs) == 100)
# the job file is what `caregrid detect` reads: no extra fields
writeLines(toJSON(lapply(jobs, function(j) j[names(j) != "name"]), auto_unbox = TRUE), file.path(out_dir, "jobs.json"))

stss <- lapply(jobs, function(j) sts(observed = j$counts, epoch = as.Date(j$start) + 7 * (seq_along(j$counts) - 1), freq = 52))
ranges <- lapply(jobs, function(j) (length(j$counts) - 51):length(j$counts))
results <- vector("list", length(jobs))
t0 <- proc.time()[["elapsed"]]
for (i in seq_along(jobs)) {
  results[[i]] <- suppressWarnings(farringtonFlexible(stss[[i]], control = list(range = ranges[[i]])))
}
seconds <- proc.time()[["elapsed"]] - t0

out <- list(
  R = paste(R.version$major, R.version$minor, sep = "."),
  surveillance = as.character(packageVersion("surveillance")),
  seconds = seconds,
  names = vapply(jobs, function(j) j$name, ""),
  results = lapply(results, function(r) list(upperbound = as.numeric(upperbound(r)[, 1]), alarm = as.logical(alarms(r)[, 1])))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), file.path(out_dir, "r-results.json"))
cat(sprintf("R farringtonFlexible: %d jobs, %d points, %.2f s\n", length(jobs), 52L * length(jobs), seconds), file = stderr())
