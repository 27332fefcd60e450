"""The holiday calendar's sources and files: the `chinese-calendar` package, the office's TOML
and iCalendar files, the coverage watch and the `duty-console holidays` commands.

The rules themselves (coverage, layering, what makes a year's notice usable) are plain Python
in `console.domain.calendar`; this package is where third-party code meets them, and the only
place that imports `chinese_calendar` and `icalendar` (import-linter enforces it).
"""
