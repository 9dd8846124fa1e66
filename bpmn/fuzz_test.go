package bpmn

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse the whole corpus and the hostile cases, mutated.
// Parse must never panic, and a nil error must come with definitions.
func FuzzParse(f *testing.F) {
	dirs, err := os.ReadDir(corpusDir)
	if err != nil {
		f.Fatalf("read corpus: %v", err)
	}
	for _, dir := range dirs {
		if !dir.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(corpusDir, dir.Name()))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			if filepath.Ext(file.Name()) != ".bpmn" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(corpusDir, dir.Name(), file.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, tc := range ptHostile {
		if len(tc.data) < 1<<20 {
			f.Add(tc.data)
		}
	}
	f.Add(ptProc(`<bpmn:userTask id="ut" camunda:assignee="${a}"><bpmn:multiInstanceLoopCharacteristics camunda:collection="${xs}"/></bpmn:userTask>
<bpmn:boundaryEvent id="b" attachedToRef="ut"><bpmn:errorEventDefinition errorRef="E"/></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f" sourceRef="ut" targetRef="b"><bpmn:conditionExpression>${x &gt; 1}</bpmn:conditionExpression></bpmn:sequenceFlow>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err == nil && d == nil {
			t.Fatal("nil definitions without an error")
		}
		if err != nil && d != nil {
			t.Fatal("definitions with an error")
		}
		if d != nil {
			_ = d.Err()
			for _, p := range d.Problems {
				_ = p.String()
			}
		}
	})
}
