/*
 * The QEMU function each VmsUsdtFn stands for (see include/vmscope/trace-usdt.h).
 * In a file of its own so that a program can name the functions (vmscope-trace
 * does) without linking the probes.
 */
#include "config.h"

#include "vmscope/trace-usdt.h"

const char *const vms_usdt_func_names[VMS_USDT_N_FUNCS] = {
    [VMS_USDT_QEMU_PUT_BYTE] = "qemu_put_byte",
    [VMS_USDT_QEMU_PUT_BE16] = "qemu_put_be16",
    [VMS_USDT_QEMU_PUT_BE32] = "qemu_put_be32",
    [VMS_USDT_QEMU_PUT_BE64] = "qemu_put_be64",
    [VMS_USDT_QEMU_PUT_BUFFER] = "qemu_put_buffer",
    [VMS_USDT_QEMU_PUT_COUNTED_STRING] = "qemu_put_counted_string",
    [VMS_USDT_QEMU_GET_BYTE] = "qemu_get_byte",
    [VMS_USDT_QEMU_GET_BE16] = "qemu_get_be16",
    [VMS_USDT_QEMU_GET_BE32] = "qemu_get_be32",
    [VMS_USDT_QEMU_GET_BE64] = "qemu_get_be64",
    [VMS_USDT_QEMU_GET_BUFFER] = "qemu_get_buffer",
    [VMS_USDT_QEMU_GET_COUNTED_STRING] = "qemu_get_counted_string",
    [VMS_USDT_QEMU_FILE_SKIP] = "qemu_file_skip",
    [VMS_USDT_VMSTATE_SAVE_STATE] = "vmstate_save_state",
    [VMS_USDT_VMSTATE_LOAD_STATE] = "vmstate_load_state",
    [VMS_USDT_VISIT_START_STRUCT] = "visit_start_struct",
    [VMS_USDT_VISIT_END_STRUCT] = "visit_end_struct",
    [VMS_USDT_VISIT_START_LIST] = "visit_start_list",
    [VMS_USDT_VISIT_END_LIST] = "visit_end_list",
    [VMS_USDT_VISIT_TYPE_BOOL] = "visit_type_bool",
    [VMS_USDT_VISIT_TYPE_INT8] = "visit_type_int8",
    [VMS_USDT_VISIT_TYPE_INT16] = "visit_type_int16",
    [VMS_USDT_VISIT_TYPE_INT32] = "visit_type_int32",
    [VMS_USDT_VISIT_TYPE_INT64] = "visit_type_int64",
    [VMS_USDT_VISIT_TYPE_UINT8] = "visit_type_uint8",
    [VMS_USDT_VISIT_TYPE_UINT16] = "visit_type_uint16",
    [VMS_USDT_VISIT_TYPE_UINT32] = "visit_type_uint32",
    [VMS_USDT_VISIT_TYPE_UINT64] = "visit_type_uint64",
    [VMS_USDT_VISIT_TYPE_STR] = "visit_type_str",
    [VMS_USDT_VISIT_TYPE_NUMBER] = "visit_type_number",
    [VMS_USDT_VISIT_TYPE_BUFFER] = "visit_type_buffer",
};
