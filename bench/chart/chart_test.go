package chart

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRenderPlacesPointsOnLogAxes(t *testing.T) {
	red := color.RGBA{200, 0, 0, 255}
	ch := Chart{Title: "t", XLabel: "x", YLabel: "y", XMin: 1, XMax: 1000, YMin: 1, YMax: 100, Width: 400, Height: 300,
		Series: []Series{{Name: "s", Color: red, Line: []Point{{10, 10}, {100, 10}}}}}
	img, err := ch.Render()
	require.NoError(t, err)
	assert.Equal(t, 400, img.Bounds().Dx())
	c := &canvas{x0: marginLeft, y0: marginTop, w: 400 - marginLeft - marginRight, h: 300 - marginTop - marginBottom, lx1: 3, ly1: 2, xmin: 1, ymin: 1}
	x, y := c.px(Point{10, 10})
	assert.Equal(t, marginLeft+c.w/3, x, "10 is a third of the way along 1..1000")
	assert.Equal(t, marginTop+c.h/2, y, "10 is halfway up 1..100")
	assert.Equal(t, red, img.RGBAAt(x, y), "the marker is drawn")
	mx, my := c.px(Point{31.6, 10})
	assert.Equal(t, red, img.RGBAAt(mx, my), "the line joins the markers")
	assert.Equal(t, white, img.RGBAAt(1, 1))

	_, err = Chart{XMin: 0, XMax: 1, YMin: 1, YMax: 2, Width: 10, Height: 10}.Render()
	assert.Error(t, err, "a log axis cannot start at 0")
}

func TestWritePNGAndText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	ch := Chart{Title: "Calls vs delay", XLabel: "calls", YLabel: "delay", XMin: 1, XMax: 10, YMin: 0.1, YMax: 10, Width: 300, Height: 200,
		Series: []Series{{Name: "a", Color: color.RGBA{0, 0, 200, 255}, Dots: []Point{{2, 1}, {5, 0.01}}}}}
	require.NoError(t, ch.WritePNG(path))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 300, img.Bounds().Dx())
	assert.Equal(t, 200, img.Bounds().Dy())
	// Every glyph the report's labels use exists (no fallback boxes).
	for _, r := range "PROVIDER CALLS VS DETECTION DELAY PER BACKUP 0123456789 .,:;-+=/()%<>_'*?!#[]|~ abcdefghijklmnopqrstuvwxyz" {
		if r == ' ' {
			continue
		}
		g := glyph(r)
		assert.Len(t, g, glyphH, "%q", r)
		_, ok := glyphs[r]
		if 'a' <= r && r <= 'z' {
			_, ok = glyphs[r-'a'+'A']
		}
		assert.True(t, ok, "%q", r)
	}
}
