export default function notAFormat() {}
