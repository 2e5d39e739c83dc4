#include "textflag.h"

// func ud()
TEXT ·ud(SB), NOSPLIT, $0-0
	BYTE $0x0f; BYTE $0x0b // UD2
	RET

// func mid()
TEXT ·mid(SB), NOSPLIT, $0-0
	MOVQ $1, CX
	MOVQ $16, AX
	MOVQ (AX), BX // faults at 0x10
	RET
