module github.com/fdstream/fdstream

go 1.22

require (
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.20.0
	golang.org/x/term v0.20.0
)

require golang.org/x/net v0.25.0
