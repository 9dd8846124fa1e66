package bpmn

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/ianaindex"
)

// corpusDir is the MIWG corpus, shared by the team (see its SOURCES.md):
// $BATON_CORPUS when set, else ../shared beside the repository, else the
// workplace's /work/shared (where a clone elsewhere, as CI's, finds it).
var corpusDir = findCorpus()

func findCorpus() string {
	candidates := []string{"../../shared/bpmn-corpus/miwg", "/work/shared/bpmn-corpus/miwg"}
	if dir := os.Getenv("BATON_CORPUS"); dir != "" {
		candidates = []string{filepath.Join(dir, "miwg")}
	}
	for _, dir := range candidates {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	return candidates[0] // missing: the tests say so and fail
}

// corpusFiles returns every .bpmn file of the corpus, failing the test when
// the corpus is missing: it is always there.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(corpusDir, func(path string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.IsDir() && strings.HasSuffix(path, ".bpmn") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read corpus %s: %v", corpusDir, err)
	}
	return files
}

func TestCorpusParses(t *testing.T) {
	t.Parallel()
	files := corpusFiles(t)
	if len(files) != 88 {
		t.Fatalf("corpus has %d .bpmn files, want 88", len(files))
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if d == nil || len(d.Processes) == 0 && len(d.Collaborations) == 0 {
			t.Errorf("%s: no processes or collaborations", path)
		}
		if !d.HasDiagram {
			t.Errorf("%s: HasDiagram is false", path)
		}
	}
}

// corpusCounts is an independent count over the raw XML with encoding/xml.
type corpusCounts struct {
	kinds map[Kind]int
	flows int
	lines map[string]int // id -> line of BPMN-namespace elements
}

func corpusCharset(label string, r io.Reader) (io.Reader, error) {
	enc, err := ianaindex.IANA.Encoding(label)
	if err != nil || enc == nil {
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	return enc.NewDecoder().Reader(r), nil
}

func corpusCount(t *testing.T, data []byte) corpusCounts {
	t.Helper()
	c := corpusCounts{kinds: map[Kind]int{}, lines: map[string]int{}}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = corpusCharset
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("encoding/xml: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != NamespaceBPMN {
			continue
		}
		// InputPos before the token is where the previous token ended; the
		// start tag begins at the next '<', possibly lines later.
		_ = line
		for _, a := range se.Attr {
			if a.Name.Space == "" && a.Name.Local == "id" {
				if _, dup := c.lines[strings.TrimSpace(a.Value)]; !dup {
					c.lines[strings.TrimSpace(a.Value)] = -1
				}
			}
		}
		if se.Name.Local == "sequenceFlow" {
			c.flows++
		}
		if k, ok := flowNodeKinds[se.Name.Local]; ok {
			if k == KindSubProcess {
				for _, a := range se.Attr {
					if a.Name.Space == "" && a.Name.Local == "triggeredByEvent" && a.Value == "true" {
						k = KindEventSubProcess
					}
				}
			}
			c.kinds[k]++
		}
	}
	return c
}

// allNodes returns every node of d, nested ones included.
func corpusNodes(d *Definitions) []*FlowNode {
	var ns []*FlowNode
	var walk func(c *Container)
	walk = func(c *Container) {
		for _, n := range c.Nodes {
			ns = append(ns, n)
			if n.Children != nil {
				walk(n.Children)
			}
		}
	}
	for _, p := range d.Processes {
		walk(&p.Container)
	}
	return ns
}

func corpusFlows(d *Definitions) []*SequenceFlow {
	var fs []*SequenceFlow
	var walk func(c *Container)
	walk = func(c *Container) {
		fs = append(fs, c.Flows...)
		for _, n := range c.Nodes {
			if n.Children != nil {
				walk(n.Children)
			}
		}
	}
	for _, p := range d.Processes {
		walk(&p.Container)
	}
	return fs
}

func TestCorpusReferenceCounts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(corpusDir, "reference", "*.bpmn"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 21 {
		t.Fatalf("found %d reference files, want 21", len(files))
	}
	checked := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := corpusCount(t, data)
		d, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		got := map[Kind]int{}
		nodes := corpusNodes(d)
		for _, n := range nodes {
			got[n.Kind]++
		}
		for _, k := range corpusKinds(want.kinds, got) {
			if got[k] != want.kinds[k] {
				t.Errorf("%s: %d %s nodes, want %d", filepath.Base(path), got[k], k, want.kinds[k])
			}
			checked++
		}
		if fs := corpusFlows(d); len(fs) != want.flows {
			t.Errorf("%s: %d sequence flows, want %d", filepath.Base(path), len(fs), want.flows)
		}
		checked++
		// Indexes are dense and in document order.
		for i, n := range nodes {
			if n.Index != i {
				t.Errorf("%s: node %s has Index %d, want %d", filepath.Base(path), n.ID, n.Index, i)
				break
			}
		}
	}
	t.Logf("%d reference files, %d counts checked", len(files), checked)
}

func corpusKinds(a, b map[Kind]int) []Kind {
	var ks []Kind
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// TestCorpusLines checks the line of every node and flow of every corpus
// file against the line where encoding/xml finds its start tag.
func TestCorpusLines(t *testing.T) {
	t.Parallel()
	total := 0
	for _, path := range corpusFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := corpusLines(t, data)
		d, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		check := func(id string, line int) {
			if w, ok := want[id]; ok && w != line {
				t.Errorf("%s: %s at line %d, want %d", filepath.Base(path), id, line, w)
			}
			total++
		}
		for _, n := range corpusNodes(d) {
			check(n.ID, n.Line)
		}
		for _, f := range corpusFlows(d) {
			check(f.ID, f.Line)
		}
		for _, p := range d.Processes {
			check(p.ID, p.Line)
		}
	}
	t.Logf("%d element lines checked", total)
}

// startLines maps the id of every BPMN element to the line of its start tag,
// found with encoding/xml: the line where the previous token ended, plus the
// newlines up to the '<' that starts the tag.
func corpusLines(t *testing.T, data []byte) map[string]int {
	t.Helper()
	lines := map[string]int{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = corpusCharset
	for {
		off := dec.InputOffset()
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("encoding/xml: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != NamespaceBPMN {
			continue
		}
		lt := bytes.IndexByte(data[off:], '<')
		line += bytes.Count(data[off:off+int64(lt)], []byte("\n"))
		for _, a := range se.Attr {
			if a.Name.Space == "" && a.Name.Local == "id" {
				id := strings.TrimSpace(a.Value)
				if _, dup := lines[id]; !dup {
					lines[id] = line
				}
			}
		}
	}
	return lines
}

func TestCorpusEncodings(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"A.1.0", "A.2.0", "A.3.0", "A.4.0", "B.1.0", "B.2.0"} {
		data, err := os.ReadFile(filepath.Join(corpusDir, "reference", name+".bpmn"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data[:100], []byte(`encoding="ISO-8859-1"`)) {
			t.Errorf("%s: expected an ISO-8859-1 declaration", name)
		}
		d, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(corpusNodes(d)) == 0 {
			t.Errorf("%s: no nodes", name)
		}
	}
	// Non-ASCII UTF-8 names come through intact.
	data, err := os.ReadFile(filepath.Join(corpusDir, "reference", "C.1.0.bpmn"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	n := d.Node("reviewInvoice")
	if n == nil || n.Name != "Rechnung klären" {
		t.Fatalf("reviewInvoice = %v, want the name %q", n, "Rechnung klären")
	}
	if n.Human == nil || n.Human.Assignee.String() != "demo" || n.Human.FormKey != "app:reviewInvoice.jsf" {
		t.Errorf("reviewInvoice human task = %+v", n.Human)
	}
}

// BenchmarkParse parses the largest corpus file, Trisotech's C.8.1 (450 KB).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "trisotech-workflow-modeler-12.6.3", "C.8.1-export.bpmn"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
