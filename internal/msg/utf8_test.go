package msg

import "testing"

func TestInvalidUTF8At(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", -1},
		{`{"a":"é"}`, -1},
		{"{\"a\":\"own\xffer\"}", 9},
		{"\xc3", 0},           // a character cut short
		{"ab\xed\xa0\x80", 2}, // an encoded surrogate half
	} {
		if got := InvalidUTF8At([]byte(tc.in)); got != tc.want {
			t.Errorf("InvalidUTF8At(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
