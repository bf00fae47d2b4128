package fdstream_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

// README.md shows the library's jobs as Examples' bodies: each block
// after a "<!-- example: Name file -->" marker must be the body of that
// Example, without its Output comment, so that what newcomers copy
// compiles and does what it says (go doc does not show Examples).
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile("(?s)<!-- example: (\\w+) ([\\w./]+) -->\n```go\n(.*?)```")
	found := map[string]bool{}
	for _, m := range marker.FindAllStringSubmatch(string(readme), -1) {
		name, file, block := m[1], m[2], m[3]
		found[name] = true
		body, err := exampleBody(file, name)
		if err != nil {
			t.Errorf("README's %s: %v", name, err)
			continue
		}
		if block != body {
			t.Errorf("README's block for %s (%s) differs from the Example's body.\nREADME:\n%s\nExample:\n%s", name, file, block, body)
		}
	}
	for _, name := range []string{"Example", "ExamplePipe_tls", "ExampleNewTimeoutReader", "ExampleNewConn_serialTimeout"} {
		if !found[name] {
			t.Errorf("README.md has no block marked as %s", name)
		}
	}
}

// exampleBody returns the body of the function name in file, one tab of
// indentation removed, up to its "// Output:" comment.
func exampleBody(file, name string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != name || fn.Recv != nil {
			continue
		}
		body := string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
		body, _, _ = strings.Cut(body, "\t// Output:")
		var out strings.Builder
		for _, line := range strings.Split(strings.Trim(body, "\n"), "\n") {
			out.WriteString(strings.TrimPrefix(line, "\t") + "\n")
		}
		return out.String(), nil
	}
	return "", os.ErrNotExist
}
