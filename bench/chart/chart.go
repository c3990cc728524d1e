// Package chart draws log-log scatter charts as PNG with the standard
// library only (image, image/png) and a built-in 5×7 bitmap font.
package chart

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
)

// Point is one data point.
type Point struct{ X, Y float64 }

// Series is one data set: translucent dots, and a line with square markers.
type Series struct {
	Name  string
	Color color.RGBA
	Dots  []Point
	Line  []Point
	// LineLabels are drawn next to the line's markers (optional, same length as Line),
	// above them, or below when LabelsBelow is set.
	LineLabels  []string
	LabelsBelow bool
}

// Chart is a log-log scatter chart.
type Chart struct {
	Title, XLabel, YLabel  string
	XMin, XMax, YMin, YMax float64
	Width, Height          int
	Series                 []Series
	// Notes are lines of text drawn under the legend.
	Notes []string
}

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{0, 0, 0, 255}
	grey  = color.RGBA{120, 120, 120, 255}
	light = color.RGBA{225, 225, 225, 255}
	faint = color.RGBA{242, 242, 242, 255}
)

const (
	marginLeft   = 90
	marginRight  = 30
	marginTop    = 60
	marginBottom = 70
)

type canvas struct {
	img        *image.RGBA
	x0, y0     int // plot area's top-left
	w, h       int // plot area's size
	lx0, lx1   float64
	ly0, ly1   float64
	xmin, ymin float64
}

func (c *canvas) px(p Point) (int, int) {
	x := math.Log10(max(p.X, c.xmin))
	y := math.Log10(max(p.Y, c.ymin))
	fx := (x - c.lx0) / (c.lx1 - c.lx0)
	fy := (y - c.ly0) / (c.ly1 - c.ly0)
	fx, fy = min(max(fx, 0), 1), min(max(fy, 0), 1)
	return c.x0 + int(math.Round(fx*float64(c.w))), c.y0 + c.h - int(math.Round(fy*float64(c.h)))
}

func (c *canvas) blend(x, y int, col color.RGBA, alpha float64) {
	if !(image.Point{x, y}.In(c.img.Rect)) {
		return
	}
	o := c.img.RGBAAt(x, y)
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a)*(1-alpha) + float64(b)*alpha)) }
	c.img.SetRGBA(x, y, color.RGBA{mix(o.R, col.R), mix(o.G, col.G), mix(o.B, col.B), 255})
}

func (c *canvas) rect(x0, y0, x1, y1 int, col color.RGBA) {
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			c.blend(x, y, col, 1)
		}
	}
}

// line draws a line of the given thickness (Bresenham, square pen).
func (c *canvas) line(x0, y0, x1, y1, thick int, col color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	r := thick / 2
	for {
		c.rect(x0-r, y0-r, x0-r+thick-1, y0-r+thick-1, col)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 := 2 * e; e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

// text draws s with its top-left corner at (x, y); scale multiplies the 5×7 font.
func (c *canvas) text(x, y int, s string, scale int, col color.RGBA) {
	for _, r := range s {
		for row, bits := range glyph(r) {
			for i, b := range bits {
				if b == '1' {
					c.rect(x+i*scale, y+row*scale, x+(i+1)*scale-1, y+(row+1)*scale-1, col)
				}
			}
		}
		x += (glyphW + 1) * scale
	}
}

// vtext draws s rotated a quarter turn anticlockwise, reading bottom to top,
// with its bottom-left corner at (x, y).
func (c *canvas) vtext(x, y int, s string, scale int, col color.RGBA) {
	for _, r := range s {
		for row, bits := range glyph(r) {
			for i, b := range bits {
				if b == '1' {
					px, py := x+row*scale, y-(i+1)*scale
					c.rect(px, py, px+scale-1, py+scale-1, col)
				}
			}
		}
		y -= (glyphW + 1) * scale
	}
}

func textWidth(s string, scale int) int { return len([]rune(s)) * (glyphW + 1) * scale }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func tickLabel(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'g', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Render draws the chart.
func (ch Chart) Render() (*image.RGBA, error) {
	if ch.XMin <= 0 || ch.YMin <= 0 || ch.XMax <= ch.XMin || ch.YMax <= ch.YMin {
		return nil, fmt.Errorf("chart: log axes need 0 < min < max")
	}
	img := image.NewRGBA(image.Rect(0, 0, ch.Width, ch.Height))
	c := &canvas{img: img, x0: marginLeft, y0: marginTop, w: ch.Width - marginLeft - marginRight, h: ch.Height - marginTop - marginBottom,
		lx0: math.Log10(ch.XMin), lx1: math.Log10(ch.XMax), ly0: math.Log10(ch.YMin), ly1: math.Log10(ch.YMax), xmin: ch.XMin, ymin: ch.YMin}
	c.rect(0, 0, ch.Width-1, ch.Height-1, white)

	// Grid: decades, and 2..9 within each decade.
	for d := math.Floor(c.lx0); d <= c.lx1; d++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, d)
			if v < ch.XMin || v > ch.XMax {
				continue
			}
			x, _ := c.px(Point{v, ch.YMin})
			col := faint
			if m == 1 {
				col = light
				lbl := tickLabel(v)
				c.text(x-textWidth(lbl, 2)/2, c.y0+c.h+10, lbl, 2, black)
			}
			c.line(x, c.y0, x, c.y0+c.h, 1, col)
		}
	}
	for d := math.Floor(c.ly0); d <= c.ly1; d++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, d)
			if v < ch.YMin || v > ch.YMax {
				continue
			}
			_, y := c.px(Point{ch.XMin, v})
			col := faint
			if m == 1 {
				col = light
				lbl := tickLabel(v)
				c.text(c.x0-10-textWidth(lbl, 2), y-7, lbl, 2, black)
			}
			c.line(c.x0, y, c.x0+c.w, y, 1, col)
		}
	}
	// Frame.
	c.line(c.x0, c.y0, c.x0+c.w, c.y0, 1, grey)
	c.line(c.x0, c.y0+c.h, c.x0+c.w, c.y0+c.h, 1, grey)
	c.line(c.x0, c.y0, c.x0, c.y0+c.h, 1, grey)
	c.line(c.x0+c.w, c.y0, c.x0+c.w, c.y0+c.h, 1, grey)

	// Dots first, then lines on top.
	for _, s := range ch.Series {
		for _, p := range s.Dots {
			x, y := c.px(p)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					c.blend(x+dx, y+dy, s.Color, 0.22)
				}
			}
		}
	}
	for _, s := range ch.Series {
		darker := color.RGBA{s.Color.R / 2, s.Color.G / 2, s.Color.B / 2, 255}
		for i := 1; i < len(s.Line); i++ {
			ax, ay := c.px(s.Line[i-1])
			bx, by := c.px(s.Line[i])
			c.line(ax, ay, bx, by, 3, s.Color)
		}
		for i, p := range s.Line {
			x, y := c.px(p)
			c.rect(x-5, y-5, x+5, y+5, darker)
			c.rect(x-3, y-3, x+3, y+3, s.Color)
			if i < len(s.LineLabels) && s.LineLabels[i] != "" {
				ly := y - 18
				if s.LabelsBelow {
					ly = y + 11
				}
				c.text(x-textWidth(s.LineLabels[i], 1)/2, ly, s.LineLabels[i], 1, darker)
			}
		}
	}

	// Titles and axis labels.
	c.text((ch.Width-textWidth(ch.Title, 2))/2, 18, ch.Title, 2, black)
	c.text(c.x0+(c.w-textWidth(ch.XLabel, 2))/2, c.y0+c.h+40, ch.XLabel, 2, black)
	c.vtext(18, c.y0+(c.h+textWidth(ch.YLabel, 2))/2, ch.YLabel, 2, black)

	// Legend, top left inside the plot.
	lx, ly := c.x0+16, c.y0+14
	for _, s := range ch.Series {
		c.rect(lx, ly, lx+14, ly+14, s.Color)
		c.text(lx+24, ly, s.Name, 2, black)
		ly += 24
	}
	for _, n := range ch.Notes {
		c.text(lx, ly+4, n, 1, grey)
		ly += 14
	}
	return img, nil
}

// WritePNG renders the chart to path.
func (ch Chart) WritePNG(path string) error {
	img, err := ch.Render()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
