package msg

import "testing"

// FieldIndex matches as encoding/json does: an exact match wins over a
// case-folded one, folding is Unicode's simple folding, and no match is -1.
func TestFieldIndex(t *testing.T) {
	fields := []string{"Path", "path", "address"}
	for _, c := range []struct {
		name string
		want int
	}{
		{"path", 1},
		{"Path", 0},
		{"PATH", 0},
		{"ADDRESS", 2},
		{"addreſſ", 2},
		{"addr", -1},
		{"", -1},
	} {
		if got := FieldIndex(fields, c.name); got != c.want {
			t.Errorf("FieldIndex(%q) = %d, want %d", c.name, got, c.want)
		}
	}
}
