#include "textflag.h"

// func ud()
TEXT ·ud(SB), NOSPLIT, $0-0
	BYTE $0x0f; BYTE $0x0b // UD2
	RET
