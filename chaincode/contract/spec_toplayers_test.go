package contract

import (
	"strings"
	"testing"
)

// TestSpecRejectsNegativeTopLayers checks the one bound on lora.topLayers.
func TestSpecRejectsNegativeTopLayers(t *testing.T) {
	spec := SessionSpec{Lora: LoraConfig{Rank: 8, Alpha: 16, TargetModules: []string{"q_proj"}, TopLayers: -1}}
	err := checkSpecLora(&spec)
	if err == nil || !strings.Contains(err.Error(), "lora.topLayers -1 is invalid") {
		t.Fatalf("expected a topLayers error, got %v", err)
	}
	spec.Lora.TopLayers = 6
	if err := checkSpecLora(&spec); err != nil {
		t.Fatalf("topLayers 6 should be accepted: %v", err)
	}
}
