//go:build tools

// Package tools pins the Karpenter release whose kwok controller the sandbox builds.
package tools
