package web

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestContrast: text on the stylesheet's coloured surfaces meets WCAG 2.2
// AA (4.5:1 for normal text): white on each accent (buttons, logos), each
// accent on its soft background (secondary buttons, badges), the status
// colours on their badges, and muted text on cards and the page.
func TestContrast(t *testing.T) {
	css, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]map[string]string{} // selector → variable → colour
	block := regexp.MustCompile(`(:root|\.accent-[a-z]+)\s*\{([^}]*)\}`)
	decl := regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b)`)
	for _, m := range block.FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = map[string]string{}
		for _, d := range decl.FindAllStringSubmatch(m[2], -1) {
			vars[m[1]][d[1]] = long(d[2])
		}
	}
	root := vars[":root"]
	if len(root) == 0 || len(vars) < 5 {
		t.Fatalf("could not read the colours of app.css: %v", vars)
	}
	pairs := [][3]string{
		{"status ok on its badge", root["ok"], "#ebfbee"},
		{"status bad on its badge", root["bad"], "#fff5f5"},
		{"muted text on a card", root["muted"], root["card"]},
		{"muted text on the page", root["muted"], root["bg"]},
	}
	for sel, v := range vars {
		if sel == ":root" {
			continue
		}
		pairs = append(pairs, [3]string{sel + ": white on the accent", "#ffffff", v["accent"]}, [3]string{sel + ": the accent on its soft background", v["accent"], v["accent-soft"]})
	}
	for _, p := range pairs {
		if r := contrast(p[1], p[2]); r < 4.5 {
			t.Errorf("%s: %s on %s is %.2f:1, below WCAG AA's 4.5:1", p[0], p[1], p[2], r)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// luminance is WCAG 2's relative luminance of a #rrggbb colour.
func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.04045 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

// long writes #rgb as #rrggbb.
func long(c string) string {
	if len(c) == 4 {
		return "#" + string([]byte{c[1], c[1], c[2], c[2], c[3], c[3]})
	}
	return c
}
