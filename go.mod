module github.com/batonbpm/baton

go 1.26.0

require (
	github.com/expr-lang/expr v1.17.8
	github.com/robfig/cron/v3 v3.0.1
	github.com/sosodev/duration v1.4.0
	golang.org/x/text v0.43.0
)
