package roles

import (
	"slices"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	many := make([]string, Max+1)
	for i := range many {
		many[i] = "r" + strings.Repeat("x", i%5)
	}
	for _, tc := range []struct {
		name  string
		in    []string
		want  []string
		valid bool
	}{
		{"none", nil, nil, true},
		{"empty list", []string{}, nil, true},
		{"sorted, duplicates dropped", []string{"b", "a:x", "b", "a"}, []string{"a", "a:x", "b"}, true},
		{"every allowed character", []string{"az09_-.:"}, []string{"az09_-.:"}, true},
		{"longest name", []string{strings.Repeat("a", MaxBytes)}, []string{strings.Repeat("a", MaxBytes)}, true},
		{"too long", []string{strings.Repeat("a", MaxBytes+1)}, nil, false},
		{"empty name", []string{""}, nil, false},
		{"upper case", []string{"Admin"}, nil, false},
		{"space", []string{"a b"}, nil, false},
		{"non-ASCII", []string{"rôle"}, nil, false},
		{"too many", many, nil, false},
	} {
		got, ok := Clean(tc.in)
		if ok != tc.valid || !slices.Equal(got, tc.want) {
			t.Errorf("%s: Clean(%q) = %q, %v; want %q, %v", tc.name, tc.in, got, ok, tc.want, tc.valid)
		}
	}
	in := []string{"b", "a"}
	Clean(in)
	if in[0] != "b" {
		t.Error("Clean sorted the caller's slice")
	}
}
