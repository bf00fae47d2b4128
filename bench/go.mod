module github.com/fdstream/fdstream/bench

go 1.26.0

require (
	github.com/fdstream/fdstream v0.0.0
	github.com/jbenet/go-context v0.0.0-20150711004518-d14ea06fba99
	github.com/mdlayher/socket v0.8.0
	github.com/muesli/cancelreader v0.2.2
	golang.org/x/sys v0.49.0
)

require (
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

replace github.com/fdstream/fdstream => ../
