package all_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors"
	_ "github.com/roomwire/roomwire/connectors/all"
)

// Every package directly below connectors/ that registers a connector is
// linked by this package: one left out would be missing from the binary.
func TestLinksEveryConnector(t *testing.T) {
	names := connectors.Names()
	files, err := filepath.Glob(filepath.Join("..", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Base(filepath.Dir(f))
		if strings.Contains(string(b), "connectors.Register(") && !slices.Contains(names, dir) {
			t.Errorf("connectors/%s registers a connector that connectors/all does not link (linked: %s)", dir, strings.Join(names, ", "))
		}
	}
	if len(names) < 6 {
		t.Errorf("linked only %s", strings.Join(names, ", "))
	}
}
