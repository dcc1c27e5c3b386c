package schema

import (
	"strings"
	"testing"
	"testing/fstest"
)

func files(names ...string) fstest.MapFS {
	fs := fstest.MapFS{}
	for _, n := range names {
		fs["migrations/"+n] = &fstest.MapFile{Data: []byte("-- " + n)}
	}
	return fs
}

func TestOrderIsByNumberWhateverTheOwnerOrRegistrationOrder(t *testing.T) {
	a, err := read("a", files("0001_base.sql", "0040_later.sql", "0220_newest.sql"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := read("b", files("0002_second.sql", "0010_third.sql", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := "0001_base 0002_second 0010_third 0040_later 0220_newest"
	for _, in := range [][]Migration{append(append([]Migration{}, a...), b...), append(append([]Migration{}, b...), a...)} {
		got, err := ordered(in)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range got {
			names = append(names, m.Name)
		}
		if strings.Join(names, " ") != want {
			t.Fatalf("order %v, want %s", names, want)
		}
	}
}

func TestOneNumberInTwoPackagesIsRefusedNamingBoth(t *testing.T) {
	a, _ := read("router", files("0002_backbone.sql"))
	b, _ := read("notify", files("0002_mine.sql"))
	_, err := ordered(append(a, b...))
	if err == nil || !strings.Contains(err.Error(), "0002_backbone (router)") || !strings.Contains(err.Error(), "0002_mine (notify)") {
		t.Fatalf("err = %v", err)
	}
}

func TestMigrationNamesMustStartWithANumber(t *testing.T) {
	for _, bad := range []string{"backbone.sql", "x1_backbone.sql", "0000_zero.sql"} {
		if _, err := read("router", files(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestAnOwnerRegistersOnce(t *testing.T) {
	defer func() {
		mu.Lock()
		delete(owners, "twice")
		mu.Unlock()
		if recover() == nil {
			t.Fatal("a second registration of one owner did not panic")
		}
	}()
	Register("twice", files("0901_x.sql"))
	Register("twice", files("0902_y.sql"))
}
